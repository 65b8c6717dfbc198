"""Regular expressions written by people (HCL `regex()`, tag `patterns` in tollgate.yaml), matched
with a time limit.

Terraform's RE2 and Go's regexp run in linear time; Python's engines backtrack, so a pattern such
as `^([a-z]+-?)+$` against a crafted 40-character tag value could stall a pre-commit hook or the
admission webhook for longer than anyone waits. The `regex` package matches like `re` and can stop
a match; it is imported only when a pattern is actually used.
"""

from __future__ import annotations

from typing import Any

MATCH_TIMEOUT = 1.0  # seconds per match: a real pattern on a real value takes microseconds


class MatchTimeout(Exception):
    """The match ran past MATCH_TIMEOUT: the pattern backtracks on this text."""


def engine() -> Any:
    """The `regex` module (its API is `re`'s, plus `timeout=` on every match)."""
    import regex

    return regex


def compile_error(pattern: str) -> str | None:
    """Why `pattern` is not a valid expression for the engine that will run it; None if it is."""
    regex = engine()
    try:
        regex.compile(pattern)
    except regex.error as error:
        return str(error)
    return None


def fullmatch(pattern: str, text: str) -> bool:
    """Whether the whole of `text` matches `pattern`; MatchTimeout when it takes too long."""
    try:
        return engine().fullmatch(pattern, text, timeout=MATCH_TIMEOUT) is not None
    except TimeoutError:
        raise MatchTimeout(pattern) from None
