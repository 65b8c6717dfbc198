"""Money rounds half-even to the float nearest the exact decimal, for every sign and precision."""

from __future__ import annotations

import random
from decimal import ROUND_HALF_EVEN, Decimal

import pytest
from tollgate.engine.money import Money


def decimal_rounding(nanos: int, places: int) -> float:
    exact = Decimal(nanos) / 1_000_000_000
    return float(exact.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_EVEN))


@pytest.mark.parametrize(
    "nanos, places, expected",
    [
        (21_957_642_000, 2, 21.96),
        (5_000_000, 2, 0.0),  # 0.005 -> 0.00 (half to even)
        (15_000_000, 2, 0.02),  # 0.015 -> 0.02
        (25_000_000, 2, 0.02),  # 0.025 -> 0.02
        (-15_000_000, 2, -0.02),
        (-25_000_000, 2, -0.02),
        (64_116_314_660_000, 2, 64116.31),
        (1, 9, 1e-9),
        (500_000_000, 0, 0.0),
        (1_500_000_000, 0, 2.0),
    ],
)
def test_half_even_cases(nanos: int, places: int, expected: float) -> None:
    assert Money(nanos).rounded(places) == expected


def test_rounding_matches_decimal_quantize_on_random_amounts() -> None:
    rng = random.Random(20261122)
    for _ in range(20_000):
        nanos = rng.choice([rng.randint(-10**6, 10**6), rng.randint(-10**15, 10**15), rng.randint(0, 10**4) * 5 * 10**6])
        places = rng.randint(0, 9)
        assert Money(nanos).rounded(places) == decimal_rounding(nanos, places), (nanos, places)


def test_places_out_of_range_are_refused() -> None:
    with pytest.raises(ValueError):
        Money(1).rounded(10)
