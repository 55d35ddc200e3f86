"""The audit trail's hash chain: sealing (in id order, under a lock that waits for every
writer still adding audit rows) and verification. The links are the journal's
(:func:`capillary.domain.journal.chain_hash`) over the audit row's canonical bytes."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from capillary.adapters import trade_tables as tt
from capillary.domain.journal import GENESIS, Finding, chain_hash

seals = sa.table(
    "audit_seals",
    sa.column("audit_id", sa.BigInteger),
    sa.column("chain", sa.LargeBinary),
    sa.column("sealed_at", sa.BigInteger),
)
_BATCH = 5_000


def _digest(row: Any) -> bytes:
    fields = (str(row.id), row.entity, row.entity_key, row.action, row.actor, str(row.at),
              row.detail or "")  # fmt: skip
    canonical = "|".join(f"{len(x)}:{x}" for x in fields).encode()
    return hashlib.sha256(canonical).digest()


def _rows(conn: Connection, after: int) -> Iterator[Any]:
    a = tt.audit_log
    while True:
        batch = list(conn.execute(
            sa.select(a).where(a.c.id > after).order_by(a.c.id).limit(_BATCH)
        ))  # fmt: skip
        yield from batch
        if len(batch) < _BATCH:
            return
        after = batch[-1].id


def seal(conn: Connection, now: int) -> int:
    """Seal every audit row added since the last seal; returns how many."""
    if conn.dialect.name == "postgresql":
        # Waits for transactions still inserting audit rows, so no lower id commits later.
        conn.exec_driver_sql("LOCK TABLE audit_log IN SHARE ROW EXCLUSIVE MODE")
    last = conn.execute(
        sa.select(seals.c.audit_id, seals.c.chain).order_by(seals.c.audit_id.desc()).limit(1)
    ).first()
    previous, after = (GENESIS, 0) if last is None else (bytes(last.chain), int(last.audit_id))
    pending: list[dict[str, Any]] = []
    count = 0
    for row in _rows(conn, after):
        previous = chain_hash(previous, row.id, _digest(row))
        pending.append({"audit_id": row.id, "chain": previous, "sealed_at": now})
        if len(pending) >= _BATCH:
            conn.execute(seals.insert(), pending)
            count += len(pending)
            pending = []
    if pending:
        conn.execute(seals.insert(), pending)
        count += len(pending)
    return count


def verify(conn: Connection) -> tuple[list[Finding], int]:
    """Findings (``audit_changed``, ``audit_removed``, ``audit_inserted``) and how many
    audit rows are not sealed yet."""
    a = tt.audit_log
    findings: list[Finding] = []
    previous = GENESIS
    unsealed = 0
    query = (
        sa.select(a, seals.c.audit_id.label("sealed_id"), seals.c.chain)
        .select_from(a.outerjoin(seals, seals.c.audit_id == a.c.id))
        .order_by(a.c.id)
    )
    for row in conn.execute(query):
        if row.sealed_id is None:
            unsealed += 1
            continue
        if unsealed:  # a row with no seal before a sealed one: slipped in afterwards
            findings.append(Finding("audit_inserted", None, None,
                                    f"{unsealed} audit row(s) before row {row.id} carry no "
                                    "seal although later rows do."))  # fmt: skip
            unsealed = 0
        expected = chain_hash(previous, row.id, _digest(row))
        if expected != bytes(row.chain):
            findings.append(Finding("audit_changed", None, None,
                                    f"Audit row {row.id} ({row.entity} {row.entity_key}: "
                                    f"{row.action} by {row.actor}) was changed after it was "
                                    "sealed."))  # fmt: skip
        previous = bytes(row.chain)
    orphans = conn.execute(
        sa.select(sa.func.count())
        .select_from(seals)
        .where(~sa.exists().where(a.c.id == seals.c.audit_id))
    ).scalar_one()
    if orphans:
        findings.append(Finding("audit_removed", None, None,
                                f"{orphans} sealed audit row(s) are gone."))  # fmt: skip
    return findings, unsealed
