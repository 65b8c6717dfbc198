"""Tollgate's version: the one place it is written (pyproject.toml reads it from here).

A constant, not importlib.metadata: reading the installed metadata imports and scans more than
the whole pre-commit check of an unchanged file costs."""

__version__ = "0.1.0"
