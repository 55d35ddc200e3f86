"""Organizations' features from the platform's own records, as of a day (issue 14): the
inputs of scoring, each organization's own to see, everyone's for the platform's staff."""

from __future__ import annotations

from datetime import date

from sqlalchemy.engine import Connection

from capillary.adapters.clock import Clock, business_date, start_of
from capillary.adapters.database import Database
from capillary.adapters.feature_queries import tallies
from capillary.domain.access import Principal
from capillary.domain.errors import ValidationError
from capillary.domain.features import table


class ScoringService:
    def __init__(self, db: Database, *, clock: Clock, timezone: str) -> None:
        self.db = db
        self.clock = clock
        self.timezone = timezone

    def features(self, day: date | None = None, *, principal: Principal
                 ) -> dict[str, dict[str, float | None]]:  # fmt: skip
        """Each organization's features as of the end of ``day`` (default: today) — the
        principal's own, or everyone's for those who see everything. Nothing after the day
        is read; a day still to come is refused."""
        today = business_date(self.clock, self.timezone)
        day = day or today
        if day > today:
            raise ValidationError(f"Features are as of a day that has ended or is today "
                                  f"({today}); {day} is still to come.")  # fmt: skip

        def read(conn: Connection) -> dict[str, dict[str, float | None]]:
            found = table(tallies(conn, day, start_of(day, self.timezone)))
            if principal.sees_everything:
                return found
            return {k: v for k, v in found.items() if k == principal.org}

        return self.db.transaction(read, readonly=True)
