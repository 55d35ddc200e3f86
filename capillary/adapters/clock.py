"""Time, as the ledger reads it: integer microseconds since the Unix epoch, UTC; and the
platform's business date, that instant's date in the platform's time zone (DESIGN.md §9)."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime
from datetime import time as time_of_day
from typing import Protocol
from zoneinfo import ZoneInfo

#: The platform's time zone unless it was created with another.
DEFAULT_TIMEZONE = "Asia/Shanghai"


class Clock(Protocol):
    def now_us(self) -> int: ...


class SystemClock:
    def now_us(self) -> int:
        return time.time_ns() // 1000


class ManualClock:
    """A clock that moves only when told to: for tests and replays."""

    def __init__(self, start_us: int = 1_767_225_600_000_000) -> None:  # 2026-01-01
        self.current = start_us

    def now_us(self) -> int:
        return self.current

    def advance(self, *, seconds: int = 0, microseconds: int = 0) -> None:
        self.current += seconds * 1_000_000 + microseconds


class SteppingClock:
    """A simulation's clock: nine in the morning of the day it is set to, a millisecond
    later at each reading — every instant distinct, and a run with the same steps the same
    instants."""

    def __init__(self, day: date, timezone: str = DEFAULT_TIMEZONE) -> None:
        self.timezone = timezone
        self.current = 0
        self.set_day(day)

    def set_day(self, day: date) -> None:
        self.current = max(self.current, start_of(day, self.timezone) + 9 * 3_600_000_000)

    def now_us(self) -> int:
        self.current += 1_000
        return self.current


def to_us(moment: datetime) -> int:
    if moment.tzinfo is None:
        raise ValueError("a naive datetime is ambiguous; give a timezone")
    delta = moment - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def from_us(us: int) -> datetime:
    return datetime.fromtimestamp(us // 1_000_000, tz=UTC).replace(microsecond=us % 1_000_000)


def business_date(clock: Clock, timezone: str = DEFAULT_TIMEZONE) -> date:
    """Today on the platform: the clock's date in the platform's time zone."""
    return from_us(clock.now_us()).astimezone(ZoneInfo(timezone)).date()


def start_of(day: date, timezone: str = DEFAULT_TIMEZONE) -> int:
    """Midnight at the start of ``day`` in ``timezone``, in µs since the epoch."""
    return to_us(datetime.combine(day, time_of_day(), tzinfo=ZoneInfo(timezone)))
