"""Discounts worked by hand, to the fen."""

from datetime import date
from decimal import Decimal as D

import pytest

from capillary.domain import errors
from capillary.domain.pricing import DayCount, discount, quote


def test_act_360_by_hand() -> None:
    # 50,000.00 CNY at 4.5% for 90 days: 5,000,000 × 0.045 × 90 / 360 = 56,250 fen exactly.
    assert discount(5_000_000, D("0.045"), 90) == 56_250
    q = quote(5_000_000, D("0.045"), on=date(2026, 11, 2), maturity=date(2027, 1, 31))
    assert (q.days, q.discount, q.price) == (90, 56_250, 4_943_750)


def test_act_365_by_hand() -> None:
    # 50,000.00 at 4.5% for 90 days on 365: 5,000,000 × 0.045 × 90 / 365 = 55,479.452… → 55,479.
    assert discount(5_000_000, D("0.045"), 90, DayCount.ACT_365) == 55_479


def test_half_up_rounding_at_exactly_half_a_fen() -> None:
    # 100.00 at 3.6% for 5 days on 360: 10,000 × 0.036 × 5 / 360 = 5.0 → 5; at 1.8%: 2.5 → 3.
    assert discount(10_000, D("0.036"), 5) == 5
    assert discount(10_000, D("0.018"), 5) == 3  # half-up, not half-even (which gives 2)


def test_a_leap_year_has_one_more_day_to_count() -> None:
    across_february = quote(1_000_000, D("0.05"), on=date(2028, 2, 1), maturity=date(2028, 3, 1))
    assert across_february.days == 29  # 2028 is a leap year
    # 1,000,000 × 0.05 × 29 / 365 = 3,972.60… → 3,973
    leap = quote(1_000_000, D("0.05"), on=date(2028, 2, 1), maturity=date(2028, 3, 1),
                 day_count=DayCount.ACT_365)  # fmt: skip
    assert leap.discount == 3_973
    plain = quote(1_000_000, D("0.05"), on=date(2027, 2, 1), maturity=date(2027, 3, 1),
                  day_count=DayCount.ACT_365)  # fmt: skip
    assert (plain.days, plain.discount) == (28, 3_836)  # 3,835.61… → 3,836


def test_a_fee_comes_out_of_the_sellers_proceeds() -> None:
    q = quote(5_000_000, D("0.045"), on=date(2026, 11, 2), maturity=date(2027, 1, 31),
              fee_rate=D("0.001"))  # fmt: skip
    assert (q.fee, q.price, q.to_seller) == (5_000, 4_943_750, 4_938_750)


def test_what_cannot_be_priced() -> None:
    with pytest.raises(errors.ValidationError):
        quote(100, D("0.05"), on=date(2027, 1, 31), maturity=date(2027, 1, 31))
    with pytest.raises(errors.ValidationError):
        discount(100, D("1.5"), 10)
    with pytest.raises(errors.ValidationError):
        discount(100, 0.05, 10)  # type: ignore[arg-type]
