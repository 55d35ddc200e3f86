"""Every query the ledger makes to post and to read what was posted. Functions take an open
connection; the service owns the transaction. Bulk paths are written per dialect: COPY and
arrays on PostgreSQL, executemany on SQLite, always one statement per table per batch,
never a row at a time through an ORM. Accounts: :mod:`account_repository`; the journal's
seals: :mod:`journal_repository`."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Connection

from capillary.adapters.ledger_sql import (
    BALANCE_COLUMNS,
    COPY_FROM,
    POSTING_COLUMNS,
    SEAL_LOCK,
    TX_COLUMNS,
    chunks,
    driver_of,
    in_clause,
    pg,
)
from capillary.domain.ledger import (
    POSTING_KINDS,
    AccountState,
    Balance,
    BalanceConstraint,
    Leg,
    Side,
    Transaction,
    TransactionKind,
)

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


def _select_in(cursor: Any, select: str, column: str, values: Sequence[Any]) -> list[Any]:
    """``select … WHERE column IN (values)`` on a SQLite cursor, in chunks under its limit
    on bound variables."""
    rows: list[Any] = []
    for chunk in chunks(values):
        marks = ",".join("?" * len(chunk))
        rows += cursor.execute(f"{select} WHERE {column} IN ({marks})", chunk).fetchall()
    return rows


def begin_batch(
    conn: Connection, account_ids: Iterable[int], keys: Sequence[str], count: int
) -> BatchStart:
    """Lock the accounts (in id order), then find which keys were posted before, then take
    ``count`` fresh transaction ids."""
    ids = sorted(set(account_ids))
    driver = driver_of(conn)
    if pg(conn):
        with driver.pipeline():
            # Joins against unnest(array), not "= ANY(array)": a cached generic plan may
            # seq-scan and test every row against the whole array (measured: seconds per
            # 10,000 keys once the table grows); a join keeps the index in play.
            locked = driver.execute(
                f"SELECT a.id, a.unit, a.balance_constraint, {BALANCE_COLUMNS}, a.org, a.code "
                "FROM accounts a JOIN unnest(%s::bigint[]) AS k(id) ON a.id = k.id "
                "ORDER BY a.id FOR UPDATE OF a",
                (ids,),
            )
            found = driver.execute(
                f"SELECT {', '.join('t.' + c for c in TX_COLUMNS.split(', '))} "
                "FROM transactions t JOIN unnest(%s::text[]) AS k(key) "
                "ON t.idempotency_key = k.key",
                (list(keys),),
            )
            fresh = driver.execute(_PG_NEXT_IDS, (SEAL_LOCK, count))
            account_rows = locked.fetchall()
            tx_rows = found.fetchall()
            new_ids = sorted(r[0] for r in fresh.fetchall())
    else:
        cursor = driver.cursor()
        account_rows = _select_in(
            cursor,
            f"SELECT id, unit, balance_constraint, {BALANCE_COLUMNS}, org, code FROM accounts",
            "id",
            ids,
        )
        tx_rows = _select_in(
            cursor, f"SELECT {TX_COLUMNS} FROM transactions", "idempotency_key", keys
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
    f"INSERT INTO transactions ({TX_COLUMNS}) SELECT * FROM unnest("
    "%s::bigint[], %s::text[], %s::text[], %s::bigint[], %s::text[], %s::text[], "
    "%s::bigint[], %s::bigint[], %s::bigint[], %s::int[])"
)
_PG_POSTINGS_UNNEST = (
    f"INSERT INTO postings ({POSTING_COLUMNS}) SELECT * FROM unnest("
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
    """Write transaction rows (``TX_COLUMNS`` order), their postings (``POSTING_COLUMNS``
    order, side as 'D'/'C') and add each account's net change to its counters, as
    increments, never read-modify-write."""
    if not rows:
        return
    ids = sorted(deltas)
    balance_rows = [(i, *deltas[i]) for i in ids]
    driver = driver_of(conn)
    if not pg(conn):
        cursor = driver.cursor()
        cursor.executemany(
            f"INSERT INTO transactions ({TX_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
        if postings:
            cursor.executemany(
                f"INSERT INTO postings ({POSTING_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)", postings
            )
        if balance_rows:
            cursor.executemany(
                "UPDATE accounts SET debits_posted = debits_posted + ?, "
                "credits_posted = credits_posted + ?, debits_pending = debits_pending + ?, "
                "credits_pending = credits_pending + ? WHERE id = ?",
                [(*delta, i) for i, *delta in balance_rows],
            )
        return
    if len(rows) >= COPY_FROM:
        cursor = driver.cursor()
        with cursor.copy(f"COPY transactions ({TX_COLUMNS}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        if postings:
            with cursor.copy(f"COPY postings ({POSTING_COLUMNS}) FROM STDIN") as copy:
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
    if pg(conn):
        rows = conn.exec_driver_sql(_PG_NEXT_IDS, (SEAL_LOCK, count))
        return sorted(r[0] for r in rows)
    (last,) = conn.exec_driver_sql("SELECT coalesce(max(id), 0) FROM transactions").one()
    return list(range(last + 1, last + 1 + count))


def _legs_by_transaction(conn: Connection, ids: Sequence[int]) -> dict[int, list[Leg]]:
    legs: dict[int, list[Leg]] = {i: [] for i in ids}
    for chunk in chunks(ids):
        where, params = in_clause(conn, "transaction_id", chunk)
        rows = conn.exec_driver_sql(
            f"SELECT transaction_id, account_id, side, amount FROM postings WHERE {where} "
            "ORDER BY transaction_id, leg",
            params,
        )
        for r in rows:
            legs[r[0]].append(Leg(r[1], Side(r[2]), r[3]))
    return legs


def _with_legs(conn: Connection, found: Sequence[Sequence[Any]]) -> list[Transaction]:
    """Transactions from rows of ``TX_COLUMNS``, with their legs read."""
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
    for chunk in chunks(values):
        where, params = in_clause(conn, column, chunk)
        found.extend(
            conn.exec_driver_sql(f"SELECT {TX_COLUMNS} FROM transactions WHERE {where}", params)
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
    p = "%s" if pg(conn) else "?"
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
    p = "%s" if pg(conn) else "?"
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
    p = "%s" if pg(conn) else "?"
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
        f"SELECT a.id, {BALANCE_COLUMNS}, "
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
