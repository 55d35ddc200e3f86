"""The platform's business-day calendar.

Mainland China by default, from the maintained ``holidays`` library, which knows both the
public holidays and the weekend days that are worked instead (调休): 2026-10-10 is a
Saturday and a working day. Each year's official schedule is published late, so operators
can add or override days; an override wins over the library. A maturity that falls on a
non-business day rolls to the next business day.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from functools import cache

from holidays.countries.china import China

#: How far a roll may search before something is wrong with the calendar.
_MAX_ROLL_DAYS = 31


@cache
def _mainland(year: int) -> China:
    return China(years=year)  # type: ignore[no-untyped-call]  # holidays is untyped here


class BusinessCalendar:
    """Business days: the mainland calendar, with the operator's overrides."""

    def __init__(self, overrides: Mapping[date, bool] | None = None) -> None:
        self.overrides = dict(overrides or {})

    def is_business_day(self, day: date) -> bool:
        override = self.overrides.get(day)
        if override is not None:
            return override
        return bool(_mainland(day.year).is_working_day(day))

    def roll_forward(self, day: date) -> date:
        """``day`` if it is a business day, else the next one."""
        for offset in range(_MAX_ROLL_DAYS + 1):
            candidate = day + timedelta(days=offset)
            if self.is_business_day(candidate):
                return candidate
        raise ValueError(f"no business day within {_MAX_ROLL_DAYS} days after {day}")

    def holiday_name(self, day: date) -> str | None:
        return _mainland(day.year).get(day)
