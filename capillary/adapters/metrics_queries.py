"""The counts an operator's dashboard shows, read in one round of small aggregate queries."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from capillary.adapters import certificate_tables as c


@dataclass(frozen=True, slots=True)
class DomainCounts:
    certificates: dict[str, int]  # by status
    fragments: int
    financings: int
    postings: int  # ledger transactions


def domain_counts(conn: Connection) -> DomainCounts:
    by_status = {
        str(status): int(n)
        for status, n in conn.execute(
            sa.select(c.certificates.c.status, sa.func.count()).group_by(c.certificates.c.status)
        )
    }
    fragments = conn.execute(sa.select(sa.func.count()).select_from(c.fragments)).scalar_one()
    financings = conn.execute(sa.select(sa.func.count()).select_from(c.financings)).scalar_one()
    postings = conn.execute(sa.text("SELECT coalesce(max(id), 0) FROM transactions")).scalar_one()
    return DomainCounts(by_status, int(fragments), int(financings), int(postings))
