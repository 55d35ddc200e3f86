"""What a person or a file may write for a date, an id, a count or a rate, read strictly.

Every interface (command line, import files, later the API) reads typed text through these,
so a value is either exactly what was meant or refused with a named error — never a guess:
``2026-11-27`` is a date and ``20261127`` is not; ``12`` is an id and ``１２``, ``+12``,
``1_2`` and ``2**63`` are not; ``4.5%`` and ``0.045`` are rates and ``NaN``, ``1e-2`` and
``450%`` are not. (Amounts: :func:`capillary.domain.units.parse_major`.)
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from capillary.domain.errors import InvalidDate, InvalidId, InvalidRate
from capillary.domain.units import MAX_AMOUNT

#: The largest id the store holds (a signed 64-bit integer).
MAX_ID = MAX_AMOUNT

_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_DIGITS = re.compile(r"[0-9]+")
_RATE = re.compile(r"(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(%?)")
#: More places than this in a rate is noise, not precision (0.0001% is 1e-6).
RATE_PLACES = 8


def parse_day(text: object, *, what: str = "A date") -> date:
    """``YYYY-MM-DD``, a real calendar day; nothing else (no ``20261127``, no time)."""
    written = text.strip() if isinstance(text, str) else ""
    if not _DATE.fullmatch(written):
        raise InvalidDate(f"{what} is written YYYY-MM-DD (2026-11-27); got {text!r}.")
    try:
        return date.fromisoformat(written)
    except ValueError:
        raise InvalidDate(f"{what} {written} is not a day of the calendar.") from None


def parse_id(text: object, *, what: str = "An id") -> int:
    """A positive id the store can hold: ASCII digits, 1 to 2^63−1."""
    if isinstance(text, int) and not isinstance(text, bool):
        value = text
    else:
        written = text.strip() if isinstance(text, str) else ""
        if not _DIGITS.fullmatch(written):
            raise InvalidId(f"{what} is a whole number written in digits; got {text!r}.")
        value = int(written)
    if not 1 <= value <= MAX_ID:
        raise InvalidId(f"{what} must be between 1 and {MAX_ID:,}; got {value:,}.")
    return value


def parse_count(text: object, *, what: str = "A number", low: int = 0, high: int = MAX_ID) -> int:
    """A whole number in ``[low, high]``, written in ASCII digits."""
    written = text.strip() if isinstance(text, str) else str(text)
    if not _DIGITS.fullmatch(written):
        raise InvalidId(f"{what} is a whole number written in digits; got {text!r}.")
    value = int(written)
    if not low <= value <= high:
        raise InvalidId(f"{what} must be between {low:,} and {high:,}; got {value:,}.")
    return value


@dataclass(frozen=True, slots=True)
class RateRange:
    """The rates the platform accepts for one purpose, as fractions: ``[low, high]``."""

    low: Decimal
    high: Decimal
    what: str = "A rate"


def parse_rate(text: object, bounds: RateRange) -> Decimal:
    """A rate a person wrote: a decimal fraction (``0.045``) or a percentage (``4.5%``),
    finite, at most :data:`RATE_PLACES` places as a fraction, within ``bounds``."""
    written = text.strip() if isinstance(text, str) else ""
    match = _RATE.fullmatch(written)
    if match is None:
        raise InvalidRate(
            f"{bounds.what} is written as a percentage (4.5%) or a fraction (0.045); got {text!r}."
        )
    percent = bool(match.group(1))
    value = Decimal(written.rstrip("%"))
    rate = value / 100 if percent else value
    if not bounds.low <= rate <= bounds.high:
        raise InvalidRate(
            f"{bounds.what} must be between {percent_text(bounds.low)} and "
            f"{percent_text(bounds.high)}; got {written}."
        )
    if rate != rate.quantize(Decimal(1).scaleb(-RATE_PLACES)):
        raise InvalidRate(
            f"{bounds.what} {written} has more than {RATE_PLACES} decimal places as a fraction."
        )
    return rate.normalize() if rate else Decimal(0)


def percent_text(rate: Decimal) -> str:
    """``Decimal('0.045')`` → ``'4.5%'``: a rate for people."""
    shown = (rate * 100).normalize()
    return f"{shown:f}%"
