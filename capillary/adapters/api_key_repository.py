"""Every query of API keys: the keys of an organization, and the one lookup each request
makes to learn who presents a key."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from capillary.adapters import trust_tables as t
from capillary.adapters.database import Database
from capillary.domain.api_keys import ApiKey, parse_scopes
from capillary.domain.parties import parse_roles


def _key(r: Any) -> ApiKey:
    return ApiKey(r.id, r.org, r.name, parse_scopes(r.scopes), r.created_at, r.created_by,
                  r.revoked_at)  # fmt: skip


def insert(conn: Connection, key: ApiKey, secret_hash: bytes) -> None:
    conn.execute(
        t.api_keys.insert().values(
            id=key.id, org=key.org, name=key.name, scopes=",".join(sorted(key.scopes)),
            secret_hash=secret_hash, created_at=key.created_at, created_by=key.created_by,
        )
    )  # fmt: skip


def get(conn: Connection, key_id: str) -> ApiKey | None:
    r = conn.execute(sa.select(t.api_keys).where(t.api_keys.c.id == key_id)).first()
    return None if r is None else _key(r)


def of_org(conn: Connection, org: str | None) -> list[ApiKey]:
    query = sa.select(t.api_keys).order_by(t.api_keys.c.created_at, t.api_keys.c.id)
    if org is not None:
        query = query.where(t.api_keys.c.org == org)
    return [_key(r) for r in conn.execute(query)]


def revoke(conn: Connection, key_id: str, by: str, now: int) -> None:
    conn.execute(
        t.api_keys.update()
        .where(t.api_keys.c.id == key_id, t.api_keys.c.revoked_at.is_(None))
        .values(revoked_at=now, revoked_by=by)
    )


@dataclass(frozen=True, slots=True)
class Presented:
    key: ApiKey
    secret_hash: bytes
    roles: frozenset[Any]


def presented(db: Database, key_id: str) -> Presented | None:
    """The key with this id, its stored digest, and its organization's roles: one keyed
    read, outside any unit of work (every API request makes it)."""
    r = db.read_row(
        "SELECT k.id, k.org, k.name, k.scopes, k.created_at, k.created_by, k.revoked_at, "
        "k.secret_hash, o.roles FROM api_keys k JOIN organizations o ON o.code = k.org "
        "WHERE k.id = ?",
        (key_id,),
    )
    if r is None:
        return None
    key = ApiKey(r[0], r[1], r[2], parse_scopes(r[3]), r[4], r[5], r[6])
    return Presented(key, bytes(r[7]), parse_roles(r[8]))
