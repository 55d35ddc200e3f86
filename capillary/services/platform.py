"""Use cases of the platform itself: creating it (production or sandbox, with its operator)
and its clock (DESIGN.md §9).

A production platform's clock is wall time and cannot be set. A sandbox's clock is stored in
the database: the operator sets or advances it (never backwards), and every process sees the
same business date, so demos, tests and simulations run months in seconds.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.engine import Connection

from capillary.adapters import invoice_repository as invoice_repo
from capillary.adapters import party_repository as party_repo
from capillary.adapters import trust_repository as repo
from capillary.adapters.clock import (
    DEFAULT_TIMEZONE,
    Clock,
    SystemClock,
    business_date,
    from_us,
    start_of,
)
from capillary.adapters.database import Database, active_connection
from capillary.domain.access import Act, Principal, authorize
from capillary.domain.errors import (
    ClockBackwards,
    ClockNotSettable,
    PlatformExists,
    PlatformNotInitialized,
    ValidationError,
)
from capillary.domain.parties import Organization, Role
from capillary.services.idempotency import once
from capillary.services.outcomes import audit_row

SANDBOX, PRODUCTION = "sandbox", "production"


@dataclass(frozen=True, slots=True)
class ClockReading:
    kind: str  # sandbox | production
    timezone: str
    now: datetime  # in the platform's time zone
    today: date


class PlatformService:
    def __init__(self, db: Database, *, clock: Clock | None = None) -> None:
        self.db = db
        self.clock = clock or SystemClock()

    def init(
        self, operator: Organization, *, sandbox: bool, start: date | None = None,
        timezone: str = DEFAULT_TIMEZONE,
    ) -> ClockReading:  # fmt: skip
        """Create the platform with its operator (registered here if new, and given the
        operator role). Only once per store: the one act without a principal, since there is
        nobody yet to ask. A sandbox's clock starts at midnight of ``start`` (default: today
        on the wall clock)."""
        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValidationError(
                f"{timezone!r} is not a time zone (e.g. Asia/Shanghai)."
            ) from None
        if Role.OPERATOR not in operator.roles:
            raise ValidationError(
                f"The platform's operator {operator.code} needs the operator role."
            )

        def work(conn: Connection) -> None:
            if repo.platform(conn, lock=True) is not None:
                raise PlatformExists("This store already holds a platform; it is created once.")
            now = SystemClock().now_us()
            clock_us = None
            if sandbox:
                clock_us = start_of(start or business_date(SystemClock(), timezone), timezone)
            known = party_repo.orgs_by_code(conn, [operator.code]).get(operator.code)
            if known is None:
                party_repo.insert_orgs(conn, [replace(operator, created_at=now)])
            elif Role.OPERATOR not in known.roles:
                raise ValidationError(f"{operator.code} is registered without the operator role.")
            repo.insert_platform(
                conn,
                repo.PlatformRow(SANDBOX if sandbox else PRODUCTION, timezone, operator.code,
                                 clock_us, now),
            )  # fmt: skip
            invoice_repo.insert_audit(
                conn,
                [audit_row("platform", "platform", "created", f"{operator.code}:setup", now,
                           {"kind": SANDBOX if sandbox else PRODUCTION, "timezone": timezone})],
            )  # fmt: skip

        self.db.transaction(work)
        return self.reading()

    def _platform(self, conn: Connection, *, lock: bool = False) -> repo.PlatformRow:
        found = repo.platform(conn, lock=lock)
        if found is None:
            raise PlatformNotInitialized(
                "This store holds no platform yet: create it with `capillary platform init`."
            )
        return found

    def operator(self) -> str | None:
        """The operator's organization code (``None`` before the platform is created)."""
        row = self.db.transaction(repo.platform, readonly=True)
        return None if row is None else row.operator

    def reading(self) -> ClockReading:
        """The platform's clock: kind, time zone, now and today."""
        row = self.db.transaction(lambda c: self._platform(c), readonly=True)
        now_us = row.clock_us if row.clock_us is not None else self.clock.now_us()
        now = from_us(now_us).astimezone(ZoneInfo(row.timezone))
        return ClockReading(row.kind, row.timezone, now, now.date())

    def set_clock(self, day: date, *, principal: Principal, key: str) -> ClockReading:
        """The operator moves a sandbox's clock to midnight starting ``day``, never back."""
        authorize(principal, Act.SET_CLOCK)

        def work(conn: Connection) -> None:
            once(conn, principal=principal, key=key, use_case=Act.SET_CLOCK.value,
                 request={"day": day}, result=None, run=lambda: self._set(conn, day, principal),
                 now=SystemClock().now_us())  # fmt: skip

        self.db.transaction(work)
        return self.reading()

    def _set(self, conn: Connection, day: date, principal: Principal) -> None:
        row = self._platform(conn, lock=True)
        if row.clock_us is None:
            raise ClockNotSettable(
                "This is a production platform: its clock is wall time and cannot be set."
            )
        target = start_of(day, row.timezone)
        current = from_us(row.clock_us).astimezone(ZoneInfo(row.timezone))
        if target < row.clock_us:
            raise ClockBackwards(
                f"The sandbox clock is at {current:%Y-%m-%d %H:%M}; it never goes back (to {day})."
            )
        repo.set_sandbox_clock(conn, target)
        invoice_repo.insert_audit(
            conn,
            [audit_row("platform", "clock", "set", principal.label, target,
                       {"from": current.isoformat(), "to": day.isoformat()})],
        )  # fmt: skip

    def advance_clock(self, *, days: int, principal: Principal, key: str) -> ClockReading:
        """The operator moves a sandbox's clock ``days`` forward, to midnight (under ``key``,
        a retried advance moves it once)."""
        if days < 1 or days > 36_600:
            raise ValidationError(f"Advance the clock by 1 to 36,600 days; got {days}.")
        authorize(principal, Act.SET_CLOCK)

        def work(conn: Connection) -> None:
            def run() -> None:
                row = self._platform(conn, lock=True)
                now = row.clock_us if row.clock_us is not None else self.clock.now_us()
                today = from_us(now).astimezone(ZoneInfo(row.timezone)).date()
                self._set(conn, today + timedelta(days=days), principal)

            once(conn, principal=principal, key=key, use_case="advance_clock",
                 request={"days": days}, result=None, run=run,
                 now=SystemClock().now_us())  # fmt: skip

        self.db.transaction(work)
        return self.reading()


def platform_clock(db: Database) -> tuple[Clock, str]:
    """The clock a process on ``db`` runs by, and the platform's time zone: the stored clock
    for a sandbox, wall time otherwise (also for a store with no platform yet)."""
    row = db.transaction(repo.platform, readonly=True)
    if row is None:
        return SystemClock(), DEFAULT_TIMEZONE
    if row.kind == SANDBOX:
        return _StoredClock(db), row.timezone
    return SystemClock(), row.timezone


class _StoredClock:
    """A sandbox's clock, read from the store: once per unit of work, through its own
    connection (so a use case sees one instant, and pays one small read for it), or in a
    read of its own outside one."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._memo: tuple[object, object, int] | None = None

    def now_us(self) -> int:
        conn = active_connection()
        if conn is None:
            value = self.db.transaction(repo.sandbox_clock, readonly=True)
            assert value is not None
            return value
        tx = conn.get_transaction()
        if self._memo is not None and self._memo[0] is conn and self._memo[1] is tx:
            return self._memo[2]
        value = repo.sandbox_clock(conn)
        assert value is not None
        self._memo = (conn, tx, value)
        return value
