"""Units of account: currencies and instruments.

A *unit* is what an amount counts. Currencies are ISO 4217 codes whose amounts are integers
in the currency's minor unit (fen for CNY: exponent 2, so 1,000.00 CNY is ``100_000``).
Instruments are units of our own making (later, each payable certificate is one); their
exponent is chosen when they are registered. No amount anywhere is a float.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from decimal import Decimal
from functools import cache

from capillary.domain.errors import InvalidAmount, UnknownCurrency, ValidationError

#: The largest amount, and the largest balance, the ledger stores (a signed 64-bit integer).
MAX_AMOUNT = 2**63 - 1

# ISO 4217 active codes with their minor-unit exponent (the standard's "minor unit" column).
_ISO_4217 = """
AED2 AFN2 ALL2 AMD2 AOA2 ARS2 AUD2 AWG2 AZN2 BAM2 BBD2 BDT2 BGN2 BHD3 BIF0 BMD2 BND2 BOB2
BOV2 BRL2 BSD2 BTN2 BWP2 BYN2 BZD2 CAD2 CDF2 CHE2 CHF2 CHW2 CLF4 CLP0 CNY2 COP2 COU2 CRC2
CUP2 CVE2 CZK2 DJF0 DKK2 DOP2 DZD2 EGP2 ERN2 ETB2 EUR2 FJD2 FKP2 GBP2 GEL2 GHS2 GIP2 GMD2
GNF0 GTQ2 GYD2 HKD2 HNL2 HTG2 HUF2 IDR2 ILS2 INR2 IQD3 IRR2 ISK0 JMD2 JOD3 JPY0 KES2 KGS2
KHR2 KMF0 KPW2 KRW0 KWD3 KYD2 KZT2 LAK2 LBP2 LKR2 LRD2 LSL2 LYD3 MAD2 MDL2 MGA2 MKD2 MMK2
MNT2 MOP2 MRU2 MUR2 MVR2 MWK2 MXN2 MXV2 MYR2 MZN2 NAD2 NGN2 NIO2 NOK2 NPR2 NZD2 OMR3 PAB2
PEN2 PGK2 PHP2 PKR2 PLN2 PYG0 QAR2 RON2 RSD2 RUB2 RWF0 SAR2 SBD2 SCR2 SDG2 SEK2 SGD2 SHP2
SLE2 SOS2 SRD2 SSP2 STN2 SVC2 SYP2 SZL2 THB2 TJS2 TMT2 TND3 TOP2 TRY2 TTD2 TWD2 TZS2 UAH2
UGX0 USD2 USN2 UYI0 UYU2 UYW4 UZS2 VED2 VES2 VND0 VUV0 WST2 XAF0 XCD2 XCG2 XOF0 XPF0 YER2
ZAR2 ZMW2 ZWG2
"""
ISO_4217: dict[str, int] = {tok[:3]: int(tok[3:]) for tok in _ISO_4217.split()}

_INSTRUMENT_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")


class UnitKind(enum.StrEnum):
    CURRENCY = "currency"
    INSTRUMENT = "instrument"


@dataclass(frozen=True, slots=True)
class Unit:
    """A unit of account. ``exponent`` is the number of decimal places of one minor unit."""

    code: str
    kind: UnitKind
    exponent: int
    name: str = ""


@cache
def currency(code: str) -> Unit:
    """The ISO 4217 currency ``code``, or ``unknown_currency``."""
    code = code.upper()
    if code not in ISO_4217:
        raise UnknownCurrency(f"{code!r} is not an ISO 4217 currency code.")
    return Unit(code=code, kind=UnitKind.CURRENCY, exponent=ISO_4217[code])


def instrument(code: str, *, exponent: int = 2, name: str = "") -> Unit:
    """A unit of our own making (a certificate, say); its code must not shadow a currency."""
    if not _INSTRUMENT_CODE.match(code):
        raise ValidationError(
            f"Instrument code {code!r} must be 1-64 letters, digits or '._:-', "
            "starting with a letter or digit."
        )
    if code.upper() in ISO_4217:
        raise ValidationError(f"Instrument code {code!r} would shadow an ISO 4217 currency.")
    if not 0 <= exponent <= 18:
        raise ValidationError(f"Exponent {exponent} must be between 0 and 18.")
    return Unit(code=code, kind=UnitKind.INSTRUMENT, exponent=exponent, name=name)


def check_amount(amount: object, *, what: str = "Amount") -> int:
    """``amount`` if it is a positive integer that fits the ledger, else ``invalid_amount``.

    Booleans and floats are refused outright: an amount is a count of minor units.
    """
    if type(amount) is not int:
        raise InvalidAmount(
            f"{what} must be an integer number of minor units, not {type(amount).__name__}."
        )
    if not 0 < amount <= MAX_AMOUNT:
        raise InvalidAmount(f"{what} must be between 1 and {MAX_AMOUNT}; got {amount}.")
    return amount


def to_minor(value: Decimal | str, exponent: int) -> int:
    """Convert a decimal amount in major units (``"1000.50"``) to minor units, exactly.

    More decimal places than the unit has is an error, never a silent rounding.
    """
    d = Decimal(value)
    scaled = d.scaleb(exponent)
    if scaled != scaled.to_integral_value():
        raise InvalidAmount(f"{value} has more than {exponent} decimal place(s).")
    return int(scaled)


_MAJOR = re.compile(r"(?:[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:\.([0-9]+))?")


def parse_major(text: str, exponent: int) -> int:
    """An amount a person typed, in major units, to minor units, exactly: ASCII digits,
    thousands separators only in groups of three (``1,000.50``), an optional ``.`` with at
    most the unit's ``exponent`` decimal places, at most ``MAX_AMOUNT`` minor units.
    Anything else (``1e3``, ``1,00``, ``NaN``, ``Infinity``, a sign, ``_``, full-width
    digits, spaces inside) is ``invalid_amount``, never a guess."""
    if not isinstance(text, str):
        raise InvalidAmount(f"An amount is written as text like 1,000.00; got {text!r}.")
    written = text.strip()
    match = _MAJOR.fullmatch(written)
    if match is None:
        raise InvalidAmount(
            f"{text!r} is not an amount: write digits, thousands separated by commas in "
            "groups of three, and a decimal point (1,000.50)."
        )
    fraction: str = match.group(1) or ""
    if len(fraction) > exponent:
        places = "no decimal places" if exponent == 0 else f"at most {exponent} decimal places"
        raise InvalidAmount(f"{text!r} has more decimal places than the unit: {places}.")
    whole = written.split(".")[0].replace(",", "")
    minor: int = int(whole) * 10**exponent + int(fraction.ljust(exponent, "0") or "0")
    if minor > MAX_AMOUNT:
        raise InvalidAmount(
            f"{text!r} is beyond the largest amount the ledger holds "
            f"({format_minor(MAX_AMOUNT, exponent)})."
        )
    return minor


def format_minor(amount: int, exponent: int) -> str:
    """``100000050, 2`` → ``'1,000,000.50'``: a minor-unit amount written for people."""
    sign = "-" if amount < 0 else ""
    whole, frac = divmod(abs(amount), 10**exponent)
    if exponent == 0:
        return f"{sign}{whole:,}"
    return f"{sign}{whole:,}.{frac:0{exponent}d}"


def describe(amount: int, unit: str) -> str:
    """An amount for a message: ``'300,000.00 CNY'`` for a currency, ``'1,500 units of
    CERT-1 (minor)'`` for an instrument, whose exponent only the ledger knows."""
    exponent = ISO_4217.get(unit)
    if exponent is None:
        return f"{amount:,} minor units of {unit}"
    return f"{format_minor(amount, exponent)} {unit}"
