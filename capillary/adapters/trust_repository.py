"""Every query of the trust boundary: the platform row and its clock, idempotency records,
financing offers."""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from capillary.adapters import driver_sql
from capillary.adapters import trust_tables as t
from capillary.domain.offers import FinancingOffer, OfferStatus
from capillary.domain.pricing import DayCount


@dataclass(frozen=True, slots=True)
class PlatformRow:
    kind: str  # sandbox | production
    timezone: str
    operator: str
    clock_us: int | None
    created_at: int


def platform(conn: Connection, *, lock: bool = False) -> PlatformRow | None:
    query = sa.select(t.platform).where(t.platform.c.id == 1)
    if lock and conn.dialect.name == "postgresql":
        query = query.with_for_update()
    r = conn.execute(query).first()
    if r is None:
        return None
    return PlatformRow(r.kind, r.timezone, r.operator, r.clock_us, r.created_at)


def insert_platform(conn: Connection, row: PlatformRow) -> None:
    conn.execute(
        t.platform.insert().values(
            id=1, kind=row.kind, timezone=row.timezone, operator=row.operator,
            clock_us=row.clock_us, created_at=row.created_at,
        )
    )  # fmt: skip


def sandbox_clock(conn: Connection) -> int | None:
    return conn.execute(sa.select(t.platform.c.clock_us).where(t.platform.c.id == 1)).scalar()


def set_sandbox_clock(conn: Connection, clock_us: int) -> None:
    conn.execute(t.platform.update().where(t.platform.c.id == 1).values(clock_us=clock_us))


# ---------------------------------------------------------------- idempotency


@dataclass(frozen=True, slots=True)
class Recorded:
    use_case: str
    request_hash: str
    result: bytes  # the use case's result as JSON


def recorded(conn: Connection, org: str, key: str) -> Recorded | None:
    found = driver_sql.rows(
        conn, 'SELECT use_case, request_hash, result FROM idempotency WHERE org = ? AND "key" = ?',
        (org, key),
    )  # fmt: skip
    if not found:
        return None
    use_case, request_hash, result = found[0]
    return Recorded(use_case, request_hash, zlib.decompress(bytes(result)))


def record(
    conn: Connection,
    *,
    org: str,
    key: str,
    use_case: str,
    request_hash: str,
    result: bytes,
    now: int,
) -> None:
    """Record a result (JSON), compressed: a batch's result repeats itself a great deal, and
    every byte is written durably with the use case."""
    driver_sql.run(
        conn,
        'INSERT INTO idempotency (org, "key", use_case, request_hash, result, created_at) '
        "VALUES (?, ?, ?, ?, ?, ?)",
        (org, key, use_case, request_hash, zlib.compress(result, 1), now),
    )


# ---------------------------------------------------------------- financing offers


def _offer(r: Any) -> FinancingOffer:
    return FinancingOffer(
        id=r.id,
        fragment_id=r.fragment_id,
        seller=r.seller,
        funder=r.funder,
        proposer=r.proposer,
        currency=r.currency,
        amount=r.amount,
        rate=Decimal(r.rate),
        day_count=DayCount(r.day_count),
        fee_rate=Decimal(r.fee_rate),
        recourse=bool(r.recourse),
        status=OfferStatus(r.status),
        created_at=r.created_at,
        ledger_tx=r.ledger_tx,
    )


def insert_offer(conn: Connection, offer: FinancingOffer) -> int:
    result = conn.execute(
        t.financing_offers.insert().values(
            fragment_id=offer.fragment_id, seller=offer.seller, funder=offer.funder,
            proposer=offer.proposer, currency=offer.currency, amount=offer.amount,
            rate=str(offer.rate),
            day_count=offer.day_count.value, fee_rate=str(offer.fee_rate),
            recourse=offer.recourse, status=offer.status.value, created_at=offer.created_at,
        )
    )  # fmt: skip
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


def offers_by_ids(
    conn: Connection, ids: Sequence[int], *, lock: bool = False
) -> dict[int, FinancingOffer]:
    o = t.financing_offers
    query = sa.select(o).where(o.c.id.in_(sorted(set(ids)))).order_by(o.c.id)
    if lock and conn.dialect.name == "postgresql":
        query = query.with_for_update()
    return {r.id: _offer(r) for r in conn.execute(query)}


def list_offers(
    conn: Connection, org: str | None, status: str | None, *, after: int = 0,
    limit: int | None = None,
) -> list[FinancingOffer]:  # fmt: skip
    o = t.financing_offers
    query = sa.select(o).where(o.c.id > after).order_by(o.c.id)
    if limit is not None:
        query = query.limit(limit)
    if org is not None:
        query = query.where(sa.or_(o.c.seller == org, o.c.funder == org))
    if status is not None:
        query = query.where(o.c.status == status)
    return [_offer(r) for r in conn.execute(query)]


def close_offers(
    conn: Connection, closes: Sequence[tuple[int, OfferStatus, int | None]], now: int
) -> None:
    """Close offers in one statement run for every row (accepted, with the posting, or
    withdrawn)."""
    if not closes:
        return
    o = t.financing_offers
    conn.execute(
        o.update()
        .where(o.c.id == sa.bindparam("offer_id"))
        .values(status=sa.bindparam("new_status"), closed_at=now, ledger_tx=sa.bindparam("tx")),
        [{"offer_id": i, "new_status": s.value, "tx": tx} for i, s, tx in closes],
    )
