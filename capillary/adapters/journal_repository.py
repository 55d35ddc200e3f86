"""Every query of the journal: the seals of its hash chain, the entries not yet sealed, and
the sealed rows verification re-hashes."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from sqlalchemy.engine import Connection

from capillary.adapters.ledger_sql import (
    SEAL_LOCK,
    driver_of,
    pg,
)
from capillary.domain.journal import JournalEntry, JournalLeg, Seal, SealedRow

# ---------------------------------------------------------------- the journal


def lock_for_sealing(conn: Connection) -> None:
    if pg(conn):
        conn.exec_driver_sql("SELECT pg_advisory_xact_lock(%s)", (SEAL_LOCK,))


def last_seal(conn: Connection) -> Seal | None:
    row = conn.exec_driver_sql(
        "SELECT seq, transaction_id, digest, chain FROM journal_seals ORDER BY seq DESC LIMIT 1"
    ).first()
    return None if row is None else Seal(row[0], row[1], bytes(row[2]), bytes(row[3]))


def _entry(head: Sequence[Any], legs: list[JournalLeg]) -> JournalEntry:
    """A journal entry from the nine transaction columns of ``_ENTRY_SELECT`` and its legs."""
    return JournalEntry._make((*head, tuple(legs)))


def _entries(rows: Iterable[Sequence[Any]]) -> Iterator[JournalEntry]:
    """Fold (transaction columns…, leg columns…) rows, ordered by transaction and leg,
    into entries."""
    current: Sequence[Any] | None = None
    legs: list[JournalLeg] = []
    for r in rows:
        if current is None or r[0] != current[0]:
            if current is not None:
                yield _entry(current, legs)
            current = r[:9]
            legs = []
        if r[9] is not None:
            legs.append(JournalLeg(*r[9:14]))
    if current is not None:
        yield _entry(current, legs)


_ENTRY_SELECT = (
    "SELECT t.id, t.idempotency_key, t.kind, t.posted_at, t.ref, t.metadata, t.pending_id, "
    "t.reverses_id, t.expires_at, p.leg, p.account_id, p.unit, p.side, p.amount "
    "FROM transactions t LEFT JOIN postings p ON p.transaction_id = t.id "
)


def unsealed_entries(conn: Connection, *, after_id: int, limit: int) -> list[JournalEntry]:
    p = "%s" if pg(conn) else "?"
    rows = conn.exec_driver_sql(
        _ENTRY_SELECT + f"WHERE t.id > {p} AND t.id IN "
        f"(SELECT id FROM transactions WHERE id > {p} ORDER BY id LIMIT {p}) "
        "ORDER BY t.id, p.leg",
        (after_id, after_id, limit),
    )
    return list(_entries(rows))


def insert_seals(conn: Connection, seals: Sequence[Seal], sealed_at: int) -> None:
    params = [(s.seq, s.transaction_id, s.digest, s.chain, sealed_at) for s in seals]
    p = "%s" if pg(conn) else "?"
    conn.exec_driver_sql(
        "INSERT INTO journal_seals (seq, transaction_id, digest, chain, sealed_at) "
        f"VALUES ({p}, {p}, {p}, {p}, {p})",
        params,
    )


def _stream(conn: Connection, sql: str, *, batch: int = 20_000) -> Iterator[Sequence[Any]]:
    """Rows of ``sql`` in batches straight from the driver (server-side on PostgreSQL)."""
    raw = driver_of(conn)
    cursor = raw.cursor("capillary_stream") if pg(conn) else raw.cursor()
    try:
        cursor.execute(sql)
        while rows := cursor.fetchmany(batch):
            yield from rows
    finally:
        cursor.close()


def seal_at(conn: Connection, seq: int) -> Seal | None:
    p = "%s" if pg(conn) else "?"
    row = conn.exec_driver_sql(
        f"SELECT seq, transaction_id, digest, chain FROM journal_seals WHERE seq = {p}", (seq,)
    ).first()
    return None if row is None else Seal(row[0], row[1], bytes(row[2]), bytes(row[3]))


def seal_count(conn: Connection) -> tuple[int, int]:
    """How many seals there are, and the highest seq."""
    (count, top) = conn.exec_driver_sql(
        "SELECT count(*), coalesce(max(seq), 0) FROM journal_seals"
    ).one()
    return int(count), int(top)


def _sealed(seal: Seal, head: Sequence[Any] | None, legs: list[JournalLeg]) -> SealedRow:
    return SealedRow(seal, None if head is None else JournalEntry._make((*head, tuple(legs))))


def sealed_rows(
    conn: Connection, *, first: int | None = None, last: int | None = None
) -> Iterator[SealedRow]:
    """The seals (from seq ``first`` to ``last``, or all) in ``seq`` order, each with the
    entry it points at, streamed."""
    where = ""
    if first is not None and last is not None:
        where = f"WHERE s.seq BETWEEN {int(first)} AND {int(last)} "
    rows = _stream(
        conn,
        "SELECT s.seq, s.transaction_id, s.digest, s.chain, "
        "t.id, t.idempotency_key, t.kind, t.posted_at, t.ref, t.metadata, t.pending_id, "
        "t.reverses_id, t.expires_at, p.leg, p.account_id, p.unit, p.side, p.amount "
        "FROM journal_seals s LEFT JOIN transactions t ON t.id = s.transaction_id "
        f"LEFT JOIN postings p ON p.transaction_id = t.id {where}ORDER BY s.seq, p.leg",
    )
    seal: Seal | None = None
    head: Sequence[Any] | None = None
    legs: list[JournalLeg] = []
    for r in rows:
        if seal is None or r[0] != seal.seq:
            if seal is not None:
                yield SealedRow(
                    seal, None if head is None else JournalEntry._make((*head, tuple(legs)))
                )
            seal = Seal(r[0], r[1], bytes(r[2]), bytes(r[3]))
            head = None if r[4] is None else r[4:13]
            legs = []
        if r[13] is not None:
            legs.append(JournalLeg(*r[13:18]))
    if seal is not None:
        yield _sealed(seal, head, legs)


def unsealed_inside_sealed_range(conn: Connection) -> list[int]:
    """Transactions with no seal although a later transaction is sealed."""
    rows = conn.exec_driver_sql(
        "SELECT t.id FROM transactions t LEFT JOIN journal_seals s ON s.transaction_id = t.id "
        "WHERE s.seq IS NULL AND t.id < (SELECT coalesce(max(transaction_id), 0) "
        "FROM journal_seals) ORDER BY t.id"
    )
    return [r[0] for r in rows]


def count_unsealed(conn: Connection) -> int:
    (n,) = conn.exec_driver_sql(
        "SELECT count(*) FROM transactions WHERE id > "
        "(SELECT coalesce(max(transaction_id), 0) FROM journal_seals)"
    ).one()
    return int(n)


def oldest_unsealed_at(conn: Connection) -> int | None:
    """When the oldest entry not yet sealed was posted (µs), if any."""
    value = conn.exec_driver_sql(
        "SELECT min(posted_at) FROM transactions WHERE id > "
        "(SELECT coalesce(max(transaction_id), 0) FROM journal_seals)"
    ).scalar()
    return None if value is None else int(value)
