"""The rows an obligor's reach is computed from: every fragment of its certificates that
reached a new holder, and every financing of one, with the ceiling its seller asked for
(certificates in one currency)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy.engine import Connection

from capillary.adapters.driver_sql import rows
from capillary.domain.pricing import DayCount
from capillary.domain.reach import Financed, Received

_RECEIVED = """
SELECT f.tier, f.holder, f.amount
FROM fragments f
JOIN certificates c ON c.id = f.certificate_id
LEFT JOIN fragments p ON p.id = f.parent_id
WHERE c.obligor = ? AND c.currency = ? AND (p.id IS NULL OR p.holder <> f.holder)
"""

# The funder's fragment's parent is the one its seller held: the seller's tier.
_FINANCED = """
SELECT p.tier, fi.seller, fi.face, fi.rate, fi.days, fi.day_count, r.max_rate
FROM financings fi
JOIN fragments f ON f.id = fi.fragment_id
JOIN certificates c ON c.id = f.certificate_id
JOIN fragments p ON p.id = f.parent_id
LEFT JOIN market_fills mf ON mf.fragment_id = fi.fragment_id
LEFT JOIN market_requests r ON r.id = mf.request_id
WHERE c.obligor = ? AND c.currency = ?
"""


def reach_rows(
    conn: Connection, obligor: str, currency: str
) -> tuple[list[Received], list[Financed]]:
    received = [Received(tier, holder, amount)
                for tier, holder, amount in rows(conn, _RECEIVED, [obligor, currency])]  # fmt: skip
    financed = [
        Financed(tier, seller, face, Decimal(rate), days, DayCount(day_count),
                 None if ceiling is None else Decimal(ceiling))
        for tier, seller, face, rate, days, day_count, ceiling
        in rows(conn, _FINANCED, [obligor, currency])
    ]  # fmt: skip
    return received, financed


def reach_stamp(conn: Connection) -> tuple[Any, ...]:
    """What changes whenever anyone's reach could: the newest fragment, financing and audit
    entry (a request's ceiling changes only by an audited amendment)."""
    found = rows(conn, "SELECT (SELECT MAX(id) FROM fragments), (SELECT MAX(id) FROM financings), "
                       "(SELECT MAX(id) FROM audit_log)")  # fmt: skip
    return tuple(found[0])
