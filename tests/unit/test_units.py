from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from capillary.domain import errors
from capillary.domain.errors import InvalidAmount, UnknownCurrency, ValidationError
from capillary.domain.units import (
    MAX_AMOUNT,
    UnitKind,
    check_amount,
    currency,
    describe,
    format_minor,
    instrument,
    parse_major,
    to_minor,
)


@pytest.mark.parametrize(
    ("code", "exponent"), [("CNY", 2), ("usd", 2), ("JPY", 0), ("KWD", 3), ("CLF", 4)]
)
def test_currencies_carry_their_iso_4217_exponent(code: str, exponent: int) -> None:
    unit = currency(code)
    assert (unit.code, unit.kind, unit.exponent) == (code.upper(), UnitKind.CURRENCY, exponent)


def test_an_unknown_currency_is_refused_by_code() -> None:
    with pytest.raises(UnknownCurrency) as err:
        currency("XYZ")
    assert err.value.code == "unknown_currency"


def test_an_instrument_may_not_shadow_a_currency_or_be_malformed() -> None:
    assert instrument("CERT-2026-000001", exponent=2).kind is UnitKind.INSTRUMENT
    for bad in ("cny", "", "has space", "x" * 65):
        with pytest.raises(ValidationError):
            instrument(bad)
    with pytest.raises(ValidationError):
        instrument("CERT-1", exponent=19)


@pytest.mark.parametrize("amount", [1, 100, MAX_AMOUNT])
def test_amounts_are_positive_integers_up_to_int64(amount: int) -> None:
    assert check_amount(amount) == amount


@pytest.mark.parametrize("amount", [0, -1, MAX_AMOUNT + 1, 1.0, True, Decimal(1), "1", None])
def test_anything_else_is_an_invalid_amount(amount: object) -> None:
    with pytest.raises(InvalidAmount):
        check_amount(amount)


def test_decimal_amounts_convert_to_minor_units_exactly_or_not_at_all() -> None:
    assert to_minor("1000.50", 2) == 100_050
    assert to_minor(Decimal("0.01"), 2) == 1
    assert to_minor("7", 0) == 7
    with pytest.raises(InvalidAmount):
        to_minor("0.005", 2)


def test_amounts_are_written_for_people_with_the_units_exponent() -> None:
    assert format_minor(100_000_050, 2) == "1,000,000.50"
    assert format_minor(-5, 2) == "-0.05"
    assert format_minor(1234, 0) == "1,234"
    assert format_minor(1, 3) == "0.001"
    assert describe(30_000_000, "CNY") == "300,000.00 CNY"
    assert describe(1500, "CERT-1") == "1,500 minor units of CERT-1"


@pytest.mark.parametrize(
    ("text", "exponent", "minor"),
    [("1,000.50", 2, 100_050), ("1000.5", 2, 100_050), ("0.01", 2, 1), ("12", 0, 12),
     ("1,234,567", 0, 1_234_567), (" 7.125 ", 3, 7_125), ("92233720368547758.07", 2, 2**63 - 1)],
)  # fmt: skip
def test_an_amount_as_people_write_it(text: str, exponent: int, minor: int) -> None:
    assert parse_major(text, exponent) == minor


@pytest.mark.parametrize(
    "text",
    ["1e3", "1E3", "1,00", "10,00.00", ",100", "1,000,00", "NaN", "nan", "Infinity", "-1",
     "+1", "1_000", "１００", "1.001", "1.", ".5", "", " ", "1 000", "0x10", "1.0.0",
     "92233720368547758.08", "٣"],
)  # fmt: skip
def test_anything_else_is_refused_never_guessed(text: str) -> None:
    with pytest.raises(errors.InvalidAmount):
        parse_major(text, 2)


@given(st.integers(min_value=0, max_value=2**63 - 1), st.sampled_from([0, 2, 3]))
def test_every_amount_written_for_people_reads_back_exactly(minor: int, exponent: int) -> None:
    assert parse_major(format_minor(minor, exponent), exponent) == minor


@given(st.text(alphabet=st.sampled_from("0123456789,.-+eE_ x１٣"), max_size=16) | st.text())
def test_no_text_is_misread(text: str) -> None:
    """Whatever is typed: invalid_amount, or exactly the number written, in minor units."""
    try:
        minor = parse_major(text, 2)
    except errors.InvalidAmount:
        return
    written = text.strip()
    assert set(written) <= set("0123456789,.")
    assert Decimal(written.replace(",", "")) * 100 == minor
