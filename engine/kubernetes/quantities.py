"""Kubernetes resource quantities ("500m", "12G", "256Mi", 2) and unresolved template placeholders.

Quantities parse exactly (Fraction): a pod's share of a node is a ratio of them, and the share
multiplies a price that is exact to the nano-dollar.
"""

from __future__ import annotations

import re
from fractions import Fraction
from functools import lru_cache

GIB = 1 << 30

_BINARY = {"Ki": 1 << 10, "Mi": 1 << 20, "Gi": 1 << 30, "Ti": 1 << 40, "Pi": 1 << 50, "Ei": 1 << 60}
_DECIMAL = {"n": Fraction(1, 10**9), "u": Fraction(1, 10**6), "m": Fraction(1, 1000), "": Fraction(1),
            "k": Fraction(10**3), "K": Fraction(10**3), "M": Fraction(10**6), "G": Fraction(10**9),
            "T": Fraction(10**12), "P": Fraction(10**15), "E": Fraction(10**18)}
_QUANTITY_RE = re.compile(r"^\s*([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)\s*([a-zA-Z]{0,2})\s*$")

# ${VAR} (also unclosed), {{ .Values.x }}, $VAR, <VALUE_HERE>: left for envsubst, Helm, sed or a human.
_PLACEHOLDER_RE = re.compile(r"\$\{[^}]*\}?|\{\{.*?\}\}|\$[A-Za-z_][A-Za-z0-9_]*|^<[^<>]+>$")


class QuantityError(ValueError):
    """A value that is not a Kubernetes quantity."""


def placeholder_in(value: object) -> str | None:
    """The unresolved template placeholder in a value, e.g. '${GPU_TYPE}', or None."""
    if not isinstance(value, str):
        return None
    found = _PLACEHOLDER_RE.search(value.strip())
    return found.group(0) if found else None


# Kubernetes reads a quantity's value as an int64; past that it is not a request anyone means, and
# an exponent like 1e-99999999 would make Fraction build a 300-million-bit integer.
_LARGEST = Fraction(2**63 - 1)
_MAX_EXPONENT = 30


def parse_quantity(value: object) -> Fraction:
    """A Kubernetes quantity as an exact number of base units (cores, bytes, devices)."""
    if isinstance(value, bool):
        raise QuantityError(f"{value!r} is not a quantity")
    if isinstance(value, int):
        return _in_range(Fraction(value), value)
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise QuantityError(f"{value!r} is not a quantity")
        return _in_range(Fraction(repr(value)), value)
    if not isinstance(value, str):
        raise QuantityError(f"{value!r} is not a quantity")
    return _parse_text(value)


@lru_cache(maxsize=1024)  # a manifest file repeats the same few quantities ("500m", "1Gi") many times
def _parse_text(value: str) -> Fraction:
    match = _QUANTITY_RE.match(value)
    if not match:
        raise QuantityError(f"{_shown(value)} is not a quantity")
    number, suffix = match.groups()
    digits, _, exponent = number.lower().partition("e")
    if len(digits) > 40 or len(exponent) > 8 or exponent and abs(int(exponent)) > _MAX_EXPONENT:
        raise QuantityError(f"{_shown(value)} is out of range for a Kubernetes quantity")
    if suffix in _BINARY:
        return _in_range(Fraction(number) * _BINARY[suffix], value)
    if suffix in _DECIMAL:
        return _in_range(Fraction(number) * _DECIMAL[suffix], value)
    # "1e3" is caught by the number; anything else ("10GB", "2x") is not a Kubernetes quantity.
    raise QuantityError(f"{value!r} has an unknown suffix {suffix!r}")


def _in_range(quantity: Fraction, written: object) -> Fraction:
    if abs(quantity) > _LARGEST:
        raise QuantityError(f"{_shown(written)} is out of range for a Kubernetes quantity")
    return quantity


def _shown(value: object) -> str:
    """The value as the report quotes it: a runaway string is cut, not copied whole."""
    text = repr(value)
    return text if len(text) <= 42 else text[:40] + "…"


def parse_count(value: object) -> int | None:
    """An integer field (replicas, parallelism) that may be written as a string; None if not one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def to_float(value: Fraction | None) -> float | None:
    return None if value is None else float(value)
