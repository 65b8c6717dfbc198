#!/usr/bin/env python3
"""Build the bundled offline price catalog (providers/catalog) from ../shared/pricing.

    python scripts/build_catalog.py --from ../shared/pricing --out providers/catalog

The builder lives in `tollgate.providers.catalog_builder`, so `tollgate catalog build --from live`
writes the same format from the providers' live APIs.
"""

import sys

from tollgate.providers.catalog_builder import main

if __name__ == "__main__":
    sys.exit(main())
