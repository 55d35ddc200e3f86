"""What a person types for a date, an id or a rate is read strictly, or refused by name."""

from __future__ import annotations

import contextlib
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from capillary.domain import errors
from capillary.domain.inputs import MAX_ID, RateRange, parse_day, parse_id, parse_rate

RATES = RateRange(Decimal(0), Decimal("0.36"), "A discount rate")


def test_a_date_is_yyyy_mm_dd_and_a_real_day() -> None:
    assert parse_day("2026-11-27") == date(2026, 11, 27)
    assert parse_day(" 2026-11-27 ") == date(2026, 11, 27)
    for bad in ("20261127", "2026-W48-5", "2026-11-27T00:00", "27/11/2026", "2026-02-30",
                "２０２６-11-27", "", "2026-1-7"):  # fmt: skip
        with pytest.raises(errors.InvalidDate):
            parse_day(bad)


def test_an_id_is_ascii_digits_within_the_store() -> None:
    assert parse_id("12") == 12
    assert parse_id(str(MAX_ID)) == MAX_ID
    for bad in ("１２", "+12", "-1", "1_2", "0x1", "1e3", "0", str(MAX_ID + 1), "", " "):
        with pytest.raises(errors.InvalidId):
            parse_id(bad)


def test_a_rate_is_a_fraction_or_a_percentage_within_the_range() -> None:
    assert parse_rate("4.5%", RATES) == Decimal("0.045")
    assert parse_rate("0.045", RATES) == Decimal("0.045")
    assert parse_rate("0", RATES) == 0
    for bad in ("NaN", "Infinity", "1e-2", "-1%", "45%", "0.5", "4,5%", "%", "", "0.0000000001"):
        with pytest.raises(errors.InvalidRate):
            parse_rate(bad, RATES)


@given(st.text(max_size=30))
def test_no_text_breaks_a_parser(text: str) -> None:
    for parse in (parse_day, parse_id, lambda t: parse_rate(t, RATES)):
        with contextlib.suppress(errors.ValidationError):
            parse(text)
