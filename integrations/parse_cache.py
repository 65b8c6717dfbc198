"""A content-keyed cache of parsed inputs for the pre-commit path.

Reading a Terraform module means importing python-hcl2 and parsing every file; a manifest means
a YAML parse. When the files (and everything else the result depends on) are byte-for-byte what
they were last time, the ComputeRequests are loaded from a pickle instead. Keys are SHA-256 of the
inputs' bytes plus the Tollgate version, so an edit or an upgrade is a miss, never a stale hit.

Location: $TOLLGATE_CACHE_DIR, else $XDG_CACHE_HOME/tollgate, else ~/.cache/tollgate.
TOLLGATE_NO_CACHE=1 turns it off. Any cache problem (unwritable dir, corrupt entry) is a miss.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import tempfile
from pathlib import Path
from typing import Any

from tollgate.engine.version import __version__

CACHE_FORMAT = "requests-v5"  # bump when a cached class changes shape (v2: PriceQuote.detail/fallback; v3: ComputeRequest.node_group; v4: PricedRequest.runs_on; v5: msgspec Structs)


def cache_directory() -> Path:
    explicit = os.environ.get("TOLLGATE_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "tollgate" / "parse"


class ParseCache:
    def __init__(self, directory: Path | None = None) -> None:
        self.directory = directory or cache_directory()
        self.hits = 0
        self.misses = 0

    @classmethod
    def from_environment(cls) -> ParseCache | None:
        return None if os.environ.get("TOLLGATE_NO_CACHE") else cls()

    def key(self, kind: str, files: list[str], extra: str = "") -> str | None:
        """A key over the files' bytes, or None when one cannot be read (then the reader reports it)."""
        digest = hashlib.sha256(f"{CACHE_FORMAT}\0{__version__}\0{kind}\0{extra}".encode())
        for path in sorted(files):
            try:
                data = Path(path).read_bytes()
            except OSError:
                return None
            digest.update(os.path.abspath(path).encode() + b"\0" + hashlib.sha256(data).digest())
        return digest.hexdigest()

    def get(self, key: str) -> Any | None:
        try:
            with open(self.directory / key[:2] / key, "rb") as handle:
                value = pickle.load(handle)
        except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError, TypeError, ValueError):
            self.misses += 1
            return None
        self.hits += 1
        return value

    def put(self, key: str, value: Any) -> None:
        folder = self.directory / key[:2]
        try:
            folder.mkdir(parents=True, exist_ok=True)
            # Write then rename: concurrent hook runs never see half a file.
            with tempfile.NamedTemporaryFile(dir=folder, delete=False) as handle:
                pickle.dump(value, handle, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(handle.name, folder / key)
        except (OSError, pickle.PicklingError, TypeError, AttributeError):
            return
