"""Every query of the parties: organizations (the directory, their match tolerance) and who
trades with whom."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from capillary.adapters import driver_sql
from capillary.adapters import trade_tables as t
from capillary.adapters.sql_bulk import (
    by_keys,
    chunks,
)
from capillary.domain.parties import (
    Organization,
    RelationshipStatus,
    Tolerance,
    TradeRelationship,
    parse_roles,
)

# ---------------------------------------------------------------- organizations


def _org(r: Any) -> Organization:
    return Organization(
        code=r.code,
        name=r.name,
        scheme=r.id_scheme,
        identifier=r.id_value,
        roles=parse_roles(r.roles),
        tolerance=Tolerance(Decimal(r.tolerance_percent), r.tolerance_absolute),
        created_at=r.created_at,
        industry=r.industry,
    )


def insert_orgs(conn: Connection, orgs: Sequence[Organization]) -> None:
    if orgs:
        conn.execute(
            t.organizations.insert(),
            [
                {
                    "code": o.code,
                    "name": o.name,
                    "id_scheme": o.scheme,
                    "id_value": o.identifier,
                    "roles": "|".join(sorted(r.value for r in o.roles)),
                    "tolerance_percent": str(o.tolerance.percent),
                    "tolerance_absolute": o.tolerance.absolute,
                    "created_at": o.created_at,
                    "industry": o.industry,
                }
                for o in orgs
            ],
        )


_ORG_COLUMNS = (
    "code, name, id_scheme, id_value, roles, tolerance_percent, tolerance_absolute, created_at, "
    "industry"
)


def orgs_query(codes: Sequence[str]) -> tuple[str, Sequence[str]]:
    """The organizations of up to a chunk of ``codes``."""
    where = f"code IN ({driver_sql.marks(len(codes))})"
    return f"SELECT {_ORG_COLUMNS} FROM organizations WHERE {where}", list(codes)


def read_orgs(
    rows: Iterable[Sequence[Any]], found: dict[str, Organization] | None = None
) -> dict[str, Organization]:
    found = {} if found is None else found
    for r in rows:
        found[r[0]] = Organization(
            code=r[0], name=r[1], scheme=r[2], identifier=r[3], roles=parse_roles(r[4]),
            tolerance=Tolerance(Decimal(r[5]), r[6]), created_at=r[7], industry=r[8],
        )  # fmt: skip
    return found


def orgs_by_code(conn: Connection, codes: Iterable[str]) -> dict[str, Organization]:
    found: dict[str, Organization] = {}
    for chunk in chunks(sorted(set(codes))):
        read_orgs(driver_sql.rows(conn, *orgs_query(chunk)), found)
    return found


def orgs_by_identifier(
    conn: Connection, identifiers: Iterable[tuple[str, str]]
) -> dict[tuple[str, str], Organization]:
    rows = by_keys(conn, t.organizations, ("id_scheme", "id_value"), identifiers)
    return {(r.id_scheme, r.id_value): _org(r) for r in rows}


def list_orgs(
    conn: Connection, *, after: str = "", limit: int | None = None, role: str | None = None
) -> list[Organization]:
    """Organizations in code order: after code ``after``, with ``role``, ``limit`` of them."""
    o = t.organizations
    q = sa.select(o).where(o.c.code > after).order_by(o.c.code)
    if role is not None:  # roles are stored "core|supplier", sorted
        q = q.where(("|" + o.c.roles + "|").contains(f"|{role}|"))
    if limit is not None:
        q = q.limit(limit)
    return [_org(r) for r in conn.execute(q)]


def set_tolerance(conn: Connection, code: str, tolerance: Tolerance) -> None:
    conn.execute(
        t.organizations.update()
        .where(t.organizations.c.code == code)
        .values(tolerance_percent=str(tolerance.percent), tolerance_absolute=tolerance.absolute)
    )


# ---------------------------------------------------------------- relationships


#: Up to this many (buyer, supplier) pairs are read as one keyed statement.
FEW_PAIRS = 8


def relationships_query(pairs: Sequence[tuple[str, str]]) -> tuple[str, Sequence[str]]:
    """A use case's few pairs: one keyed read per pair, in one statement."""
    where = " OR ".join(["(buyer = ? AND supplier = ?)"] * len(pairs)) or "1 = 0"
    return (f"SELECT buyer, supplier, status FROM trade_relationships WHERE {where}",
            [v for pair in pairs for v in pair])  # fmt: skip


def read_relationships(
    rows: Iterable[Sequence[Any]],
) -> dict[tuple[str, str], TradeRelationship]:
    return {(b, s): TradeRelationship(b, s, RelationshipStatus(st)) for b, s, st in rows}


def relationships(
    conn: Connection, pairs: Iterable[tuple[str, str]]
) -> dict[tuple[str, str], TradeRelationship]:
    wanted = sorted(set(pairs))
    if len(wanted) <= FEW_PAIRS:
        return read_relationships(driver_sql.rows(conn, *relationships_query(wanted)))
    rows = by_keys(conn, t.trade_relationships, ("buyer", "supplier"), wanted)
    return {
        (r.buyer, r.supplier): TradeRelationship(r.buyer, r.supplier, RelationshipStatus(r.status))
        for r in rows
    }


def insert_relationships(conn: Connection, rels: Sequence[TradeRelationship], now: int) -> None:
    if rels:
        conn.execute(
            t.trade_relationships.insert(),
            [
                {
                    "buyer": r.buyer,
                    "supplier": r.supplier,
                    "status": r.status.value,
                    "created_at": now,
                }
                for r in rels
            ],
        )


def set_relationship_status(
    conn: Connection, buyer: str, supplier: str, status: RelationshipStatus
) -> None:
    r_ = t.trade_relationships
    conn.execute(
        r_.update()
        .where(r_.c.buyer == buyer, r_.c.supplier == supplier)
        .values(status=status.value)
    )


def list_relationships(
    conn: Connection, org: str | None, *, after: tuple[str, str] | None = None,
    limit: int | None = None,
) -> list[TradeRelationship]:  # fmt: skip
    """Relationships in (buyer, supplier) order: of ``org``, after the pair ``after``."""
    r_ = t.trade_relationships
    q = sa.select(r_).order_by(r_.c.buyer, r_.c.supplier)
    if org is not None:
        q = q.where(sa.or_(r_.c.buyer == org, r_.c.supplier == org))
    if after is not None:
        q = q.where(sa.tuple_(r_.c.buyer, r_.c.supplier) > sa.tuple_(*after))
    if limit is not None:
        q = q.limit(limit)
    return [
        TradeRelationship(r.buyer, r.supplier, RelationshipStatus(r.status))
        for r in conn.execute(q)
    ]
