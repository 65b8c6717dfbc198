"""Live prices and actual spend from the providers' own APIs, behind a SQLite cache.

Nothing in this package imports a provider SDK at import time: each client imports its SDK when it
is constructed, so the bundled path (pre-commit, webhook) never pays for boto3 or google-cloud.
"""
