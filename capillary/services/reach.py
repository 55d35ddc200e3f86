"""How far down its chain an obligor's credit reached (issue 13's core view, the demo's
reach table from the platform's own records): suppliers, not funders, tier by tier."""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Connection

from capillary.adapters import party_repository as party_repo
from capillary.adapters.database import Database
from capillary.adapters.reach_queries import reach_rows, reach_stamp
from capillary.domain.access import Principal
from capillary.domain.errors import Forbidden
from capillary.domain.parties import Role
from capillary.domain.reach import TierReach, reach_by_tier


class ReachService:
    def __init__(self, db: Database) -> None:
        self.db = db
        #: Each obligor's reach as last computed, with the stamp it was computed at: the
        #: history is read again only once something in it changed.
        self._kept: dict[tuple[str, str], tuple[Any, list[TierReach]]] = {}

    def reach(
        self, obligor: str, *, principal: Principal, currency: str = "CNY"
    ) -> list[TierReach]:
        """Tier by tier: the suppliers that received ``obligor``'s certificates, those that
        turned them into cash, at what rate, and the discount saved against the ceiling each
        asked for, on its certificates in ``currency``. The obligor's own and the platform
        staff's to see."""
        if not (principal.sees_everything or principal.org == obligor):
            raise Forbidden(f"How far {obligor}'s credit reached is {obligor}'s to see (and "
                            f"the platform's staff's), not {principal.org}'s.")  # fmt: skip

        def read(conn: Connection) -> list[TierReach]:
            received, financed = reach_rows(conn, obligor, currency)
            codes = {r.holder for r in received} | {f.seller for f in financed}
            orgs = party_repo.orgs_by_code(conn, codes)
            funders = {c for c, o in orgs.items() if Role.FUNDER in o.roles} | {obligor}
            return reach_by_tier([r for r in received if r.holder not in funders],
                                 [f for f in financed if f.seller not in funders])  # fmt: skip

        stamp = self.db.transaction(reach_stamp, readonly=True)
        kept = self._kept.get((obligor, currency))
        if kept is not None and kept[0] == stamp:
            return kept[1]
        made = self.db.transaction(read, readonly=True)
        self._kept[(obligor, currency)] = (stamp, made)
        return made
