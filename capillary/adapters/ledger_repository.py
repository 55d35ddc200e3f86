"""Every query the ledger makes. Functions take an open connection; the service owns the
transaction. Bulk paths are written per dialect: COPY and arrays on PostgreSQL, executemany on
SQLite, always one statement per table per batch, never a row at a time through an ORM."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Connection

from capillary.domain.journal import JournalEntry, JournalLeg, Seal, SealedRow
from capillary.domain.ledger import (
    POSTING_KINDS,
    Account,
    AccountState,
    Balance,
    BalanceConstraint,
    Leg,
    Side,
    Transaction,
    TransactionKind,
)
from capillary.domain.units import Unit, UnitKind

_CHUNK = 5000
# From this many transactions on, PostgreSQL gets them by COPY (3 round trips per table, but
# fastest per row); fewer go as one INSERT … SELECT unnest(arrays) per table.
_COPY_FROM = 200
# Shared by every writer, taken exclusively by the sealer: when the sealer holds it, every
# transaction id handed out before has been committed or rolled back.
_SEAL_LOCK = 0x43415049  # "CAPI"

_TX_COLUMNS = (
    "id, idempotency_key, kind, posted_at, ref, metadata, pending_id, reverses_id, "
    "expires_at, leg_count"
)
_POSTING_COLUMNS = "transaction_id, leg, account_id, unit, side, amount"
_ACCOUNT_COLUMNS = "id, org, unit, type, code, balance_constraint, metadata, created_at"
_BALANCE_COLUMNS = "debits_posted, credits_posted, debits_pending, credits_pending"


def _pg(conn: Connection) -> bool:
    return conn.dialect.name == "postgresql"


def _chunks(items: Sequence[Any], size: int = _CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _in_clause(conn: Connection, column: str, values: Sequence[Any]) -> tuple[str, Any]:
    """``column IN (...)``, the list bound as one array on PostgreSQL (a semi-join against
    unnest, which keeps the index in play where ``= ANY(array)`` may not)."""
    if _pg(conn):
        array = "bigint[]" if all(type(v) is int for v in values) else "text[]"
        return f"{column} IN (SELECT unnest(%s::{array}))", (list(values),)
    return f"{column} IN ({','.join('?' * len(values))})", tuple(values)


# ---------------------------------------------------------------- units and accounts


def insert_unit(conn: Connection, unit: Unit) -> None:
    conn.exec_driver_sql(
        "INSERT INTO units (code, kind, exponent, name) VALUES (%s, %s, %s, %s)"
        if _pg(conn)
        else "INSERT INTO units (code, kind, exponent, name) VALUES (?, ?, ?, ?)",
        (unit.code, unit.kind.value, unit.exponent, unit.name),
    )


def get_unit(conn: Connection, code: str) -> Unit | None:
    row = conn.exec_driver_sql(
        "SELECT code, kind, exponent, name FROM units WHERE code = " + ("%s" if _pg(conn) else "?"),
        (code,),
    ).first()
    return None if row is None else Unit(row[0], UnitKind(row[1]), row[2], row[3])


def list_units(conn: Connection) -> list[Unit]:
    rows = conn.exec_driver_sql("SELECT code, kind, exponent, name FROM units ORDER BY code")
    return [Unit(r[0], UnitKind(r[1]), r[2], r[3]) for r in rows]


def insert_account(
    conn: Connection,
    *,
    org: str,
    unit: str,
    type: str,
    code: str,
    constraint: BalanceConstraint,
    metadata: str | None,
    created_at: int,
) -> int:
    p = "%s" if _pg(conn) else "?"
    row = conn.exec_driver_sql(
        "INSERT INTO accounts (org, unit, type, code, balance_constraint, metadata, created_at) "
        f"VALUES ({p}, {p}, {p}, {p}, {p}, {p}, {p}) RETURNING id",
        (org, unit, type, code, constraint.value, metadata, created_at),
    ).one()
    return int(row[0])


def _account(row: Sequence[Any]) -> Account:
    return Account(
        id=row[0],
        org=row[1],
        unit=row[2],
        type=row[3],
        code=row[4],
        constraint=BalanceConstraint(row[5]),
        metadata=row[6],
        created_at=row[7],
    )


def get_account(conn: Connection, account_id: int) -> Account | None:
    p = "%s" if _pg(conn) else "?"
    row = conn.exec_driver_sql(
        f"SELECT {_ACCOUNT_COLUMNS} FROM accounts WHERE id = {p}", (account_id,)
    ).first()
    return None if row is None else _account(row)


def find_account(conn: Connection, *, org: str, unit: str, code: str) -> Account | None:
    p = "%s" if _pg(conn) else "?"
    row = conn.exec_driver_sql(
        f"SELECT {_ACCOUNT_COLUMNS} FROM accounts WHERE org = {p} AND unit = {p} AND code = {p}",
        (org, unit, code),
    ).first()
    return None if row is None else _account(row)


def list_accounts(
    conn: Connection, *, org: str | None = None, unit: str | None = None, after: int = 0,
    limit: int | None = None,
) -> list[tuple[Account, Balance]]:  # fmt: skip
    """Accounts with their balances in id order: of ``org``, in ``unit``, after id
    ``after``, at most ``limit`` (a page, in SQL)."""
    mark = "%s" if _pg(conn) else "?"
    where, params = [f"id > {mark}"], [after]
    if org is not None:
        where.append(f"org = {mark}")
        params.append(org)  # type: ignore[arg-type]
    if unit is not None:
        where.append(f"unit = {mark}")
        params.append(unit)  # type: ignore[arg-type]
    sql = (f"SELECT {_ACCOUNT_COLUMNS}, {_BALANCE_COLUMNS} FROM accounts "
           f"WHERE {' AND '.join(where)} ORDER BY id")  # fmt: skip
    if limit is not None:
        sql += f" LIMIT {int(limit)}"
    rows = conn.exec_driver_sql(sql, tuple(params))
    return [(_account(r), Balance(r[8], r[9], r[10], r[11])) for r in rows]


def read_balance(conn: Connection, account_id: int) -> Balance | None:
    p = "%s" if _pg(conn) else "?"
    row = conn.exec_driver_sql(
        f"SELECT {_BALANCE_COLUMNS} FROM accounts WHERE id = {p}", (account_id,)
    ).first()
    return None if row is None else Balance(row[0], row[1], row[2], row[3])


def lock_accounts(conn: Connection, account_ids: Iterable[int]) -> dict[int, AccountState]:
    """The touched accounts' balances, locked for the rest of the transaction.

    PostgreSQL locks the rows in id order, so two writers never wait on each other in a
    circle; SQLite's ``BEGIN IMMEDIATE`` already holds the one write lock.
    """
    ids = sorted(set(account_ids))
    states: dict[int, AccountState] = {}
    lock = " ORDER BY id FOR UPDATE" if _pg(conn) else ""
    for chunk in _chunks(ids):
        where, params = _in_clause(conn, "id", chunk)
        rows = conn.exec_driver_sql(
            f"SELECT id, unit, balance_constraint, {_BALANCE_COLUMNS}, org, code FROM accounts "
            f"WHERE {where}{lock}",
            params,
        )
        for r in rows:
            states[r[0]] = AccountState(
                r[1], BalanceConstraint(r[2]), r[3], r[4], r[5], r[6], f"{r[7]}:{r[8]}:{r[1]}"
            )
    return states


# ---------------------------------------------------------------- the posting hot path
#
# A batch costs two round trips before COMMIT: one to read (lock the accounts, then read the
# idempotency keys under those locks, then take ids), one to write (transactions, postings
# and balance increments). Statements here go straight to the driver cursor of SQLAlchemy's
# connection, inside its transaction: the same SQL, without per-statement result handling,
# which costs more than SQLite takes to run a small statement.


@dataclass(frozen=True, slots=True)
class BatchStart:
    accounts: dict[int, AccountState]
    existing: dict[str, Transaction]
    ids: list[int]


def _driver(conn: Connection) -> Any:
    return conn.connection.driver_connection


def _select_in(cursor: Any, select: str, column: str, values: Sequence[Any]) -> list[Any]:
    """``select … WHERE column IN (values)`` on a SQLite cursor, in chunks under its limit
    on bound variables."""
    rows: list[Any] = []
    for chunk in _chunks(values):
        marks = ",".join("?" * len(chunk))
        rows += cursor.execute(f"{select} WHERE {column} IN ({marks})", chunk).fetchall()
    return rows


def begin_batch(
    conn: Connection, account_ids: Iterable[int], keys: Sequence[str], count: int
) -> BatchStart:
    """Lock the accounts (in id order), then find which keys were posted before, then take
    ``count`` fresh transaction ids."""
    ids = sorted(set(account_ids))
    driver = _driver(conn)
    if _pg(conn):
        with driver.pipeline():
            # Joins against unnest(array), not "= ANY(array)": a cached generic plan may
            # seq-scan and test every row against the whole array (measured: seconds per
            # 10,000 keys once the table grows); a join keeps the index in play.
            locked = driver.execute(
                f"SELECT a.id, a.unit, a.balance_constraint, {_BALANCE_COLUMNS}, a.org, a.code "
                "FROM accounts a JOIN unnest(%s::bigint[]) AS k(id) ON a.id = k.id "
                "ORDER BY a.id FOR UPDATE OF a",
                (ids,),
            )
            found = driver.execute(
                f"SELECT {', '.join('t.' + c for c in _TX_COLUMNS.split(', '))} "
                "FROM transactions t JOIN unnest(%s::text[]) AS k(key) "
                "ON t.idempotency_key = k.key",
                (list(keys),),
            )
            fresh = driver.execute(_PG_NEXT_IDS, (_SEAL_LOCK, count))
            account_rows = locked.fetchall()
            tx_rows = found.fetchall()
            new_ids = sorted(r[0] for r in fresh.fetchall())
    else:
        cursor = driver.cursor()
        account_rows = _select_in(
            cursor,
            f"SELECT id, unit, balance_constraint, {_BALANCE_COLUMNS}, org, code FROM accounts",
            "id",
            ids,
        )
        tx_rows = _select_in(
            cursor, f"SELECT {_TX_COLUMNS} FROM transactions", "idempotency_key", keys
        )
        (last,) = cursor.execute("SELECT coalesce(max(id), 0) FROM transactions").fetchone()
        new_ids = list(range(last + 1, last + 1 + count))
    accounts = {
        r[0]: AccountState(
            r[1], BalanceConstraint(r[2]), r[3], r[4], r[5], r[6], f"{r[7]}:{r[8]}:{r[1]}"
        )
        for r in account_rows
    }
    existing = {t.key: t for t in _with_legs(conn, tx_rows)} if tx_rows else {}
    return BatchStart(accounts, existing, new_ids)


_PG_NEXT_IDS = (
    "WITH sealer AS (SELECT pg_advisory_xact_lock_shared(%s)) "
    "SELECT nextval('transactions_id_seq') FROM sealer, generate_series(1, %s)"
)
_PG_TX_UNNEST = (
    f"INSERT INTO transactions ({_TX_COLUMNS}) SELECT * FROM unnest("
    "%s::bigint[], %s::text[], %s::text[], %s::bigint[], %s::text[], %s::text[], "
    "%s::bigint[], %s::bigint[], %s::bigint[], %s::int[])"
)
_PG_POSTINGS_UNNEST = (
    f"INSERT INTO postings ({_POSTING_COLUMNS}) SELECT * FROM unnest("
    "%s::bigint[], %s::int[], %s::bigint[], %s::text[], %s::text[], %s::bigint[])"
)
_PG_BALANCES_UNNEST = (
    "UPDATE accounts AS a SET debits_posted = a.debits_posted + d.dp, "
    "credits_posted = a.credits_posted + d.cp, "
    "debits_pending = a.debits_pending + d.dn, "
    "credits_pending = a.credits_pending + d.cn "
    "FROM unnest(%s::bigint[], %s::bigint[], %s::bigint[], %s::bigint[], %s::bigint[]) "
    "AS d(id, dp, cp, dn, cn) WHERE a.id = d.id"
)


def _columns(rows: Sequence[tuple[Any, ...]]) -> tuple[list[Any], ...]:
    return tuple(list(column) for column in zip(*rows, strict=True))


def write_batch(
    conn: Connection,
    rows: Sequence[tuple[Any, ...]],
    postings: Sequence[tuple[Any, ...]],
    deltas: dict[int, tuple[int, int, int, int]],
) -> None:
    """Write transaction rows (``_TX_COLUMNS`` order), their postings (``_POSTING_COLUMNS``
    order, side as 'D'/'C') and add each account's net change to its counters, as
    increments, never read-modify-write."""
    if not rows:
        return
    ids = sorted(deltas)
    balance_rows = [(i, *deltas[i]) for i in ids]
    driver = _driver(conn)
    if not _pg(conn):
        cursor = driver.cursor()
        cursor.executemany(
            f"INSERT INTO transactions ({_TX_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
        if postings:
            cursor.executemany(
                f"INSERT INTO postings ({_POSTING_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)", postings
            )
        if balance_rows:
            cursor.executemany(
                "UPDATE accounts SET debits_posted = debits_posted + ?, "
                "credits_posted = credits_posted + ?, debits_pending = debits_pending + ?, "
                "credits_pending = credits_pending + ? WHERE id = ?",
                [(*delta, i) for i, *delta in balance_rows],
            )
        return
    if len(rows) >= _COPY_FROM:
        cursor = driver.cursor()
        with cursor.copy(f"COPY transactions ({_TX_COLUMNS}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        if postings:
            with cursor.copy(f"COPY postings ({_POSTING_COLUMNS}) FROM STDIN") as copy:
                for posting in postings:
                    copy.write_row(posting)
        if balance_rows:
            cursor.execute(_PG_BALANCES_UNNEST, _columns(balance_rows))
        return
    # Small batches: everything in one statement, one round trip.
    parts = [f"tx AS ({_PG_TX_UNNEST})"]
    params: list[Any] = list(_columns(rows))
    if postings:
        parts.append(f"po AS ({_PG_POSTINGS_UNNEST})")
        params += _columns(postings)
    if balance_rows:
        sql = f"WITH {', '.join(parts)} {_PG_BALANCES_UNNEST}"
        params += _columns(balance_rows)
    else:
        sql = f"WITH {', '.join(parts)} SELECT 1"
    driver.execute(sql, params)


# ---------------------------------------------------------------- transactions


def next_transaction_ids(conn: Connection, count: int) -> list[int]:
    """``count`` fresh transaction ids, increasing. Writers hold the seal lock shared."""
    if _pg(conn):
        rows = conn.exec_driver_sql(_PG_NEXT_IDS, (_SEAL_LOCK, count))
        return sorted(r[0] for r in rows)
    (last,) = conn.exec_driver_sql("SELECT coalesce(max(id), 0) FROM transactions").one()
    return list(range(last + 1, last + 1 + count))


def _legs_by_transaction(conn: Connection, ids: Sequence[int]) -> dict[int, list[Leg]]:
    legs: dict[int, list[Leg]] = {i: [] for i in ids}
    for chunk in _chunks(ids):
        where, params = _in_clause(conn, "transaction_id", chunk)
        rows = conn.exec_driver_sql(
            f"SELECT transaction_id, account_id, side, amount FROM postings WHERE {where} "
            "ORDER BY transaction_id, leg",
            params,
        )
        for r in rows:
            legs[r[0]].append(Leg(r[1], Side(r[2]), r[3]))
    return legs


def _with_legs(conn: Connection, found: Sequence[Sequence[Any]]) -> list[Transaction]:
    """Transactions from rows of ``_TX_COLUMNS``, with their legs read."""
    legs = _legs_by_transaction(conn, [r[0] for r in found])
    return [
        Transaction(
            id=r[0],
            key=r[1],
            kind=TransactionKind(r[2]),
            posted_at=r[3],
            ref=r[4],
            metadata=r[5],
            pending_id=r[6],
            reverses_id=r[7],
            expires_at=r[8],
            legs=tuple(legs[r[0]]),
        )
        for r in found
    ]


def _transactions_where(conn: Connection, column: str, values: Sequence[Any]) -> list[Transaction]:
    found: list[Sequence[Any]] = []
    for chunk in _chunks(values):
        where, params = _in_clause(conn, column, chunk)
        found.extend(
            conn.exec_driver_sql(f"SELECT {_TX_COLUMNS} FROM transactions WHERE {where}", params)
        )
    return _with_legs(conn, found)


def transactions_by_key(conn: Connection, keys: Sequence[str]) -> dict[str, Transaction]:
    return {t.key: t for t in _transactions_where(conn, "idempotency_key", keys)}


def transaction_by_id(conn: Connection, transaction_id: int) -> Transaction | None:
    found = _transactions_where(conn, "id", [transaction_id])
    return found[0] if found else None


def resolution_of(conn: Connection, pending_id: int) -> Transaction | None:
    """The transaction that posted, voided or expired ``pending_id``, if any."""
    found = _transactions_where(conn, "pending_id", [pending_id])
    return found[0] if found else None


def reversal_of(conn: Connection, transaction_id: int) -> Transaction | None:
    found = _transactions_where(conn, "reverses_id", [transaction_id])
    return found[0] if found else None


def expired_holds(conn: Connection, now: int, limit: int) -> list[Transaction]:
    """Unresolved holds whose timeout has passed, oldest first."""
    p = "%s" if _pg(conn) else "?"
    rows = conn.exec_driver_sql(
        "SELECT t.id FROM transactions t WHERE t.kind = 'pending' AND t.expires_at <= "
        f"{p} AND NOT EXISTS (SELECT 1 FROM transactions r WHERE r.pending_id = t.id) "
        f"ORDER BY t.id LIMIT {p}",
        (now, limit),
    )
    ids = [r[0] for r in rows]
    return sorted(_transactions_where(conn, "id", ids), key=lambda t: t.id) if ids else []


# ---------------------------------------------------------------- reading history


def balance_at(conn: Connection, account_id: int, at: int) -> Balance:
    """Posted balance of an account as of ``at`` (µs), from the postings themselves.

    Pending amounts at a past time are those of holds made by then and not yet resolved by
    then."""
    p = "%s" if _pg(conn) else "?"
    kinds = ", ".join(f"'{k.value}'" for k in POSTING_KINDS)
    row = conn.exec_driver_sql(
        "SELECT "
        "coalesce(sum(CASE WHEN p.side = 'D' AND t.kind IN (" + kinds + ") THEN p.amount END), 0), "
        "coalesce(sum(CASE WHEN p.side = 'C' AND t.kind IN (" + kinds + ") THEN p.amount END), 0), "
        "coalesce(sum(CASE WHEN p.side = 'D' AND t.kind = 'pending' AND r.id IS NULL "
        "THEN p.amount END), 0), "
        "coalesce(sum(CASE WHEN p.side = 'C' AND t.kind = 'pending' AND r.id IS NULL "
        "THEN p.amount END), 0) "
        "FROM postings p JOIN transactions t ON t.id = p.transaction_id "
        f"LEFT JOIN transactions r ON r.pending_id = t.id AND r.posted_at <= {p} "
        f"WHERE p.account_id = {p} AND t.posted_at <= {p}",
        (at, account_id, at),
    ).one()
    return Balance(int(row[0]), int(row[1]), int(row[2]), int(row[3]))


@dataclass(frozen=True, slots=True)
class HistoryLine:
    transaction_id: int
    key: str
    kind: TransactionKind
    posted_at: int
    ref: str | None
    side: Side
    amount: int


def history(
    conn: Connection, account_id: int, *, limit: int, before_id: int | None
) -> list[HistoryLine]:
    """An account's legs, newest first, ``limit`` at a time (page with ``before_id``)."""
    p = "%s" if _pg(conn) else "?"
    sql = (
        "SELECT t.id, t.idempotency_key, t.kind, t.posted_at, t.ref, p.side, p.amount "
        "FROM postings p JOIN transactions t ON t.id = p.transaction_id "
        f"WHERE p.account_id = {p}"
    )
    params: list[Any] = [account_id]
    if before_id is not None:
        sql += f" AND p.transaction_id < {p}"
        params.append(before_id)
    sql += f" ORDER BY p.transaction_id DESC LIMIT {p}"
    params.append(limit)
    return [
        HistoryLine(r[0], r[1], TransactionKind(r[2]), r[3], r[4], Side(r[5]), r[6])
        for r in conn.exec_driver_sql(sql, tuple(params))
    ]


def recomputed_balances(conn: Connection) -> dict[int, tuple[Balance, Balance]]:
    """Every account's stored balance next to the one its postings add up to."""
    kinds = ", ".join(f"'{k.value}'" for k in POSTING_KINDS)
    rows = conn.exec_driver_sql(
        f"SELECT a.id, {_BALANCE_COLUMNS}, "
        "coalesce(s.dp, 0), coalesce(s.cp, 0), coalesce(s.dn, 0), coalesce(s.cn, 0) "
        "FROM accounts a LEFT JOIN ("
        "  SELECT p.account_id, "
        f"  sum(CASE WHEN p.side = 'D' AND t.kind IN ({kinds}) THEN p.amount ELSE 0 END) AS dp, "
        f"  sum(CASE WHEN p.side = 'C' AND t.kind IN ({kinds}) THEN p.amount ELSE 0 END) AS cp, "
        "   sum(CASE WHEN p.side = 'D' AND t.kind = 'pending' AND NOT EXISTS "
        "     (SELECT 1 FROM transactions r WHERE r.pending_id = t.id) "
        "     THEN p.amount ELSE 0 END) AS dn, "
        "   sum(CASE WHEN p.side = 'C' AND t.kind = 'pending' AND NOT EXISTS "
        "     (SELECT 1 FROM transactions r WHERE r.pending_id = t.id) "
        "     THEN p.amount ELSE 0 END) AS cn "
        "  FROM postings p JOIN transactions t ON t.id = p.transaction_id "
        "  GROUP BY p.account_id"
        ") s ON s.account_id = a.id ORDER BY a.id"
    )
    return {
        r[0]: (
            Balance(r[1], r[2], r[3], r[4]),
            Balance(int(r[5]), int(r[6]), int(r[7]), int(r[8])),
        )
        for r in rows
    }


def unit_totals(conn: Connection) -> dict[str, tuple[int, int]]:
    """Per unit, the sum of all debit legs and of all credit legs (pending ones included)."""
    rows = conn.exec_driver_sql(
        "SELECT unit, coalesce(sum(CASE WHEN side = 'D' THEN amount ELSE 0 END), 0), "
        "coalesce(sum(CASE WHEN side = 'C' THEN amount ELSE 0 END), 0) "
        "FROM postings GROUP BY unit"
    )
    return {r[0]: (int(r[1]), int(r[2])) for r in rows}


# ---------------------------------------------------------------- the journal


def lock_for_sealing(conn: Connection) -> None:
    if _pg(conn):
        conn.exec_driver_sql("SELECT pg_advisory_xact_lock(%s)", (_SEAL_LOCK,))


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
    p = "%s" if _pg(conn) else "?"
    rows = conn.exec_driver_sql(
        _ENTRY_SELECT + f"WHERE t.id > {p} AND t.id IN "
        f"(SELECT id FROM transactions WHERE id > {p} ORDER BY id LIMIT {p}) "
        "ORDER BY t.id, p.leg",
        (after_id, after_id, limit),
    )
    return list(_entries(rows))


def insert_seals(conn: Connection, seals: Sequence[Seal], sealed_at: int) -> None:
    params = [(s.seq, s.transaction_id, s.digest, s.chain, sealed_at) for s in seals]
    p = "%s" if _pg(conn) else "?"
    conn.exec_driver_sql(
        "INSERT INTO journal_seals (seq, transaction_id, digest, chain, sealed_at) "
        f"VALUES ({p}, {p}, {p}, {p}, {p})",
        params,
    )


def _stream(conn: Connection, sql: str, *, batch: int = 20_000) -> Iterator[Sequence[Any]]:
    """Rows of ``sql`` in batches straight from the driver (server-side on PostgreSQL)."""
    driver = _driver(conn)
    cursor = driver.cursor("capillary_stream") if _pg(conn) else driver.cursor()
    try:
        cursor.execute(sql)
        while rows := cursor.fetchmany(batch):
            yield from rows
    finally:
        cursor.close()


def seal_at(conn: Connection, seq: int) -> Seal | None:
    p = "%s" if _pg(conn) else "?"
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


def account_ids(
    conn: Connection,
    units: Sequence[str],
    *,
    codes: Sequence[str],
    orgs: Sequence[str] | None = None,
) -> dict[tuple[str, str, str], int]:
    """Ids of the accounts in ``units`` with one of ``codes`` (of ``orgs`` only, if given),
    by (org, unit, code): bulk lookups for use cases that touch many accounts at once."""
    found: dict[tuple[str, str, str], int] = {}
    for chunk in _chunks(sorted(set(units))):
        sql, params = account_ids_query(conn, chunk, codes=codes, orgs=orgs)
        for r in conn.exec_driver_sql(sql, tuple(params)):
            found[(r[1], r[2], r[3])] = r[0]
    return found


def account_ids_query(
    conn: Connection, units: Sequence[str], *, codes: Sequence[str],
    orgs: Sequence[str] | None = None,
) -> tuple[str, Sequence[Any]]:  # fmt: skip
    """The statement of :func:`account_ids` for one chunk of units (rows: id, org, unit,
    code), in the driver's own placeholders."""
    code_list = ", ".join(f"'{c}'" for c in codes)
    org_filter, org_params = "", ()
    if orgs is not None:
        org_filter, org_params = _in_clause(conn, "org", sorted(set(orgs)))
        org_filter = f" AND {org_filter}"
    where, params = _in_clause(conn, "unit", units)
    sql = f"SELECT id, org, unit, code FROM accounts WHERE {where} AND code IN ({code_list})"
    return sql + org_filter, tuple(params) + tuple(org_params)


def insert_accounts(
    conn: Connection, rows: Sequence[tuple[str, str, str, str, BalanceConstraint]], now: int
) -> dict[tuple[str, str, str], int]:
    """Open many accounts at once: (org, unit, type, code, constraint) each, in one statement
    (a chunk of them on SQLite); their ids by (org, unit, code)."""
    if not rows:
        return {}
    if _pg(conn):
        found = conn.exec_driver_sql(
            "INSERT INTO accounts (org, unit, type, code, balance_constraint, metadata, "
            "created_at) SELECT o, u, t, c, k, NULL, %s FROM unnest(%s::text[], %s::text[], "
            "%s::text[], %s::text[], %s::text[]) AS r(o, u, t, c, k) "
            "RETURNING id, org, unit, code",
            (
                now,
                [r[0] for r in rows],
                [r[1] for r in rows],
                [r[2] for r in rows],
                [r[3] for r in rows],
                [r[4].value for r in rows],
            ),
        ).all()
        return {(r[1], r[2], r[3]): r[0] for r in found}
    ids: dict[tuple[str, str, str], int] = {}
    for chunk in _chunks(rows, 5_000):
        values = ", ".join(["(?, ?, ?, ?, ?, NULL, ?)"] * len(chunk))
        params = [v for o, u, t, c, k in chunk for v in (o, u, t, c, k.value, now)]
        for r in conn.exec_driver_sql(
            "INSERT INTO accounts (org, unit, type, code, balance_constraint, metadata, "
            f"created_at) VALUES {values} RETURNING id, org, unit, code",
            tuple(params),
        ):
            ids[(r[1], r[2], r[3])] = r[0]
    return ids


def insert_units(conn: Connection, units: Sequence[Unit]) -> None:
    """Register many units in one statement."""
    if not units:
        return
    p = "%s" if _pg(conn) else "?"
    conn.exec_driver_sql(
        f"INSERT INTO units (code, kind, exponent, name) VALUES ({p}, {p}, {p}, {p})",
        [(u.code, u.kind.value, u.exponent, u.name) for u in units],
    )
