"""Money that does not drift.

Prices are held as integer nano-dollars (1e-9 USD). Every catalog price has at most six decimals,
so conversion from the catalog's decimal strings is exact, sums are exact, and a pod's fractional
share of a node rounds once, at 1e-9, instead of accumulating float error across thousands of
resources. Rounding to cents happens only when rendering.
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal
from fractions import Fraction
from typing import Union

NANOS_PER_USD = 1_000_000_000
_POWERS_OF_TEN: tuple[int, ...] = tuple(10**exponent for exponent in range(10))

Number = Union[int, Fraction]


class Money:
    """An amount of US dollars, exact to the nano-dollar."""

    __slots__ = ("nanos",)

    def __init__(self, nanos: int = 0) -> None:
        if not isinstance(nanos, int):
            raise TypeError(f"Money takes integer nano-dollars, got {type(nanos).__name__}")
        self.nanos = nanos

    # --- construction -------------------------------------------------------------------------
    @classmethod
    def from_str(cls, text: str) -> Money:
        """Parse a decimal string such as '21.957642' without going through float."""
        value = Decimal(text.strip())
        if not value.is_finite():
            raise ValueError(f"not a finite amount: {text!r}")
        return cls(int((value * NANOS_PER_USD).to_integral_value(ROUND_HALF_EVEN)))

    @classmethod
    def from_float(cls, value: float) -> Money:
        """For values that arrive as JSON numbers (live APIs); goes through repr, not binary."""
        return cls.from_str(repr(float(value)))

    @classmethod
    def zero(cls) -> Money:
        return cls(0)

    # --- arithmetic ---------------------------------------------------------------------------
    def __add__(self, other: Money) -> Money:
        return Money(self.nanos + other.nanos)

    def __sub__(self, other: Money) -> Money:
        return Money(self.nanos - other.nanos)

    def __neg__(self) -> Money:
        return Money(-self.nanos)

    def __mul__(self, factor: Number) -> Money:
        if isinstance(factor, bool) or not isinstance(factor, (int, Fraction)):
            raise TypeError("Money multiplies by int or Fraction only (floats drift)")
        if isinstance(factor, int):
            return Money(self.nanos * factor)
        return Money(round(self.nanos * factor))

    __rmul__ = __mul__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Money) and other.nanos == self.nanos

    def __lt__(self, other: Money) -> bool:
        return self.nanos < other.nanos

    def __le__(self, other: Money) -> bool:
        return self.nanos <= other.nanos

    def __gt__(self, other: Money) -> bool:
        return self.nanos > other.nanos

    def __ge__(self, other: Money) -> bool:
        return self.nanos >= other.nanos

    def __hash__(self) -> int:
        return hash(self.nanos)

    def __bool__(self) -> bool:
        return self.nanos != 0

    # --- rendering ----------------------------------------------------------------------------
    def to_decimal(self) -> Decimal:
        return Decimal(self.nanos) / NANOS_PER_USD

    def rounded(self, places: int = 2) -> float:
        """The amount rounded half-even to `places` decimals (0-9), as a float for JSON.

        Integer arithmetic, not Decimal: a report renders several amounts per resource. The
        division of two ints is correctly rounded, so this is the float nearest the decimal."""
        if not 0 <= places <= 9:
            raise ValueError(f"places must be 0-9, got {places}")
        step = _POWERS_OF_TEN[9 - places]
        units, rest = divmod(self.nanos, step)
        if 2 * rest > step or (2 * rest == step and units % 2):
            units += 1
        return units / _POWERS_OF_TEN[places]

    def __repr__(self) -> str:
        return f"Money({self.to_decimal()})"

    def __str__(self) -> str:
        return f"${self.rounded(2):,.2f}"


def sum_money(amounts: "list[Money] | tuple[Money, ...]") -> Money:
    return Money(sum(a.nanos for a in amounts))
