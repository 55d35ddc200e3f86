"""The console's languages (English and Chinese) and how it writes numbers, money and dates
in each: gettext catalogs read with Babel from the package's ``locale/`` folder, and Babel's
CLDR formats. A user's own choice wins; otherwise the browser's ``Accept-Language``."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import cache
from pathlib import Path

from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_currency, format_decimal
from babel.support import NullTranslations, Translations

LOCALES = {"en": "en", "zh": "zh_Hans_CN"}  # what a user picks: the CLDR locale it formats in
DOMAIN = "console"
_FOLDER = Path(__file__).parent / "locale"


@cache
def translations(language: str) -> NullTranslations:
    """The catalog of ``language`` ("en" is the source: no catalog), compiled in memory from
    its ``.po`` file (what ``pybabel compile`` would write)."""
    po = _FOLDER / language / "LC_MESSAGES" / f"{DOMAIN}.po"
    if language == "en" or not po.exists():
        return NullTranslations()
    with po.open("rb") as f:
        catalog = read_po(f, locale=LOCALES[language], domain=DOMAIN)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(compiled, domain=DOMAIN)


def choose(user_choice: str, accept_language: str | None) -> str:
    """The language to show: the user's, or the browser's best of ours, or English."""
    if user_choice in LOCALES:
        return user_choice
    wanted = []
    for part in (accept_language or "").split(","):
        tag, _, q = part.strip().partition(";q=")
        try:
            weight = float(q) if q else 1.0
        except ValueError:
            continue
        if tag:
            wanted.append((weight, tag.replace("-", "_")))
    for _, tag in sorted(wanted, key=lambda w: -w[0]):
        try:
            language = Locale.parse(tag).language
        except (ValueError, UnknownLocaleError):
            continue
        if language in LOCALES:
            return language
    return "en"


@dataclass(frozen=True, slots=True)
class Formats:
    """How the page in ``language`` writes money, rates, counts and dates."""

    language: str

    @property
    def cldr(self) -> str:
        return LOCALES[self.language]

    def money(self, minor: int, currency: str = "CNY") -> str:
        """Minor units as the amount with its currency: "CN¥1,250.00", "¥1,250.00"."""
        return format_currency(Decimal(minor) / 100, currency, locale=self.cldr)

    def rate(self, rate: Decimal | str | None) -> str:
        """An annual rate as a percentage with two decimals ("4.35%"); "—" for none."""
        if rate is None:
            return "—"
        return format_decimal(Decimal(rate) * 100, "#,##0.00", locale=self.cldr) + "%"

    def count(self, n: int) -> str:
        return format_decimal(n, locale=self.cldr)

    def day(self, when: date) -> str:
        return format_date(when, "medium", locale=self.cldr)

    def moment(self, micros: int | None) -> str:
        """A stored instant (microseconds since the epoch) in UTC, to the second; "—" for
        none."""
        if micros is None:
            return "—"
        when = datetime.fromtimestamp(micros / 1_000_000, tz=UTC)
        return format_datetime(when, "medium", tzinfo=UTC, locale=self.cldr) + " UTC"
