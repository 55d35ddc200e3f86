"""Risk through the network (issue 14): a stress test on the platform's real certificate
graph — chosen obligors default fully or partly, the loss traced to every holder, what falls
back on sellers through recourse, and the sellers that cannot meet it — with and without
recourse. The operator's and the auditors' to run."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from sqlalchemy.engine import Connection

from capillary.adapters import event_repository as events_repo
from capillary.adapters import party_repository as party_repo
from capillary.adapters.clock import Clock, business_date
from capillary.adapters.database import Database
from capillary.adapters.risk_queries import (
    funders_and_cores,
    graph,
    network,
    operators,
    outstanding_by_maturity,
)
from capillary.domain.access import Act, Principal, authorize, staff_only
from capillary.domain.contagion import Graph, StressResult, stress
from capillary.domain.errors import OrganizationNotFound, ValidationError
from capillary.domain.events import concentration_event, overdue_alert
from capillary.domain.exposure import Exposure, Thresholds, exposure
from capillary.domain.parties import Role
from capillary.services.idempotency import once
from capillary.services.outbox import emit


@dataclass(frozen=True, slots=True)
class StressReport:
    shocks: dict[str, float]  # obligor → the share of what it owes it still pays
    currency: str
    with_recourse: StressResult
    without_recourse: StressResult
    group: dict[str, str]  # organization → "funder", "core" or "tier N"

    def by_group(self, result: StressResult) -> dict[str, int]:
        found: dict[str, int] = defaultdict(int)
        for org, amount in result.loss.items():
            found[self.group.get(org, "other")] += amount
        return dict(sorted(found.items()))


class RiskService:
    def __init__(self, db: Database, *, clock: Clock, timezone: str,
                 thresholds: Thresholds | None = None) -> None:  # fmt: skip
        self.db = db
        self.clock = clock
        self.timezone = timezone
        self.thresholds = thresholds or Thresholds()

    def monitor(self, *, principal: Principal, key: str, currency: str = "CNY") -> int:
        """The risk monitor (the worker runs it daily; the operator may at any time): a
        ``risk.concentration`` event for each concentration beyond the thresholds and a
        ``risk.overdue`` event for each obligor with certificates overdue, each at most
        once a day. How many were new."""
        authorize(principal, Act.RAISE_ALERTS)
        today = business_date(self.clock, self.timezone)
        at = self.clock.now_us()

        def work(conn: Connection) -> int:
            return once(conn, principal=principal, key=key, use_case=Act.RAISE_ALERTS.value,
                        request={"currency": currency}, result=int, run=lambda: raise_(conn),
                        now=self.clock.now_us())  # fmt: skip

        def raise_(conn: Connection) -> int:
            found = self._exposure(conn, currency, self.thresholds)
            staff = operators(conn)
            events = [concentration_event(a.kind, a.subject, a.share, a.threshold, a.amount,
                                          currency, staff, today, at)
                      for a in found.alerts]  # fmt: skip
            oldest: dict[str, date] = {}
            for obligor, maturity, late, _ in outstanding_by_maturity(conn, currency):
                if late:
                    oldest[obligor] = min(maturity, oldest.get(obligor, maturity))
            events += [overdue_alert(o, amount, currency, oldest[o], staff, today, at)
                       for o, amount in sorted(found.overdue.items())]  # fmt: skip
            before = events_repo.count_ids(conn, [e.id for e in events if e.id])
            emit(conn, events)
            return len(events) - before

        return self.db.transaction(work)

    def exposure(self, *, principal: Principal, currency: str = "CNY",
                 thresholds: Thresholds | None = None) -> Exposure:  # fmt: skip
        """Outstanding certificates by obligor, funder, tier and industry, the maturity
        ladder, what is overdue, and the concentrations beyond ``thresholds``: the
        operator's and the auditors'."""
        staff_only(principal, "the platform's exposure figures")

        return self.db.transaction(
            lambda c: self._exposure(c, currency, thresholds or self.thresholds), readonly=True
        )

    def _exposure(self, conn: Connection, currency: str, thresholds: Thresholds) -> Exposure:
        holdings, tiers, _, _ = network(conn, currency)
        maturities = outstanding_by_maturity(conn, currency)
        codes = {h.holder for h in holdings} | {h.obligor for h in holdings}
        orgs = party_repo.orgs_by_code(conn, codes)
        funders = {c for c, o in orgs.items() if Role.FUNDER in o.roles}
        industries = {c: o.industry or "" for c, o in orgs.items()}
        return exposure(holdings, tiers, maturities, funders, industries, thresholds)

    def stress(self, shocks: Mapping[str, float], *, principal: Principal,
               currency: str = "CNY") -> StressReport:  # fmt: skip
        """Default each obligor in ``shocks`` to the share of its certificates it still
        pays (0 for nothing) on today's outstanding certificates in ``currency``."""
        staff_only(principal, "stress tests", "run")
        if not shocks:
            raise ValidationError("Name at least one obligor to default.")
        for org, share in shocks.items():
            if not 0 <= share <= 1:
                raise ValidationError(f"{org} still pays a share between 0 and 1 of what it "
                                      f"owes; got {share}.")  # fmt: skip

        def read(conn: Connection) -> tuple[tuple[Graph, dict[str, int], dict[str, int]],
                                            dict[str, str]]:  # fmt: skip
            orgs = party_repo.orgs_by_code(conn, shocks)
            missing = sorted(set(shocks) - set(orgs))
            if missing:
                raise OrganizationNotFound(f"No organization {missing[0]!r}.")
            return graph(conn, currency), funders_and_cores(conn)

        (network_, tiers, cash), special = self.db.transaction(read, readonly=True)
        everyone = set(network_.holder) | set(network_.seller) | set(shocks)
        group = {code: special.get(code) or f"tier {tiers.get(code, 0)}" for code in everyone}
        return StressReport(
            dict(shocks), currency,
            stress(network_, [], cash, shocks, recourse=True),
            stress(network_, [], cash, shocks, recourse=False),
            group,
        )  # fmt: skip
