"""Every query of the ledger's units and accounts: registered, opened (one or many at
once), found, listed with their balances, locked for a posting."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy.engine import Connection

from capillary.adapters import driver_sql
from capillary.adapters.ledger_sql import (
    ACCOUNT_COLUMNS,
    BALANCE_COLUMNS,
    chunks,
    in_clause,
    pg,
)
from capillary.domain.ledger import (
    Account,
    AccountState,
    Balance,
    BalanceConstraint,
)
from capillary.domain.units import Unit, UnitKind

# ---------------------------------------------------------------- units and accounts


def insert_unit(conn: Connection, unit: Unit) -> None:
    conn.exec_driver_sql(
        "INSERT INTO units (code, kind, exponent, name) VALUES (%s, %s, %s, %s)"
        if pg(conn)
        else "INSERT INTO units (code, kind, exponent, name) VALUES (?, ?, ?, ?)",
        (unit.code, unit.kind.value, unit.exponent, unit.name),
    )


def get_unit(conn: Connection, code: str) -> Unit | None:
    row = conn.exec_driver_sql(
        "SELECT code, kind, exponent, name FROM units WHERE code = " + ("%s" if pg(conn) else "?"),
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
    p = "%s" if pg(conn) else "?"
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
    p = "%s" if pg(conn) else "?"
    row = conn.exec_driver_sql(
        f"SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE id = {p}", (account_id,)
    ).first()
    return None if row is None else _account(row)


def find_account(conn: Connection, *, org: str, unit: str, code: str) -> Account | None:
    p = "%s" if pg(conn) else "?"
    row = conn.exec_driver_sql(
        f"SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE org = {p} AND unit = {p} AND code = {p}",
        (org, unit, code),
    ).first()
    return None if row is None else _account(row)


def list_accounts(
    conn: Connection, *, org: str | None = None, unit: str | None = None, after: int = 0,
    limit: int | None = None,
) -> list[tuple[Account, Balance]]:  # fmt: skip
    """Accounts with their balances in id order: of ``org``, in ``unit``, after id
    ``after``, at most ``limit`` (a page, in SQL)."""
    mark = "%s" if pg(conn) else "?"
    where, params = [f"id > {mark}"], [after]
    if org is not None:
        where.append(f"org = {mark}")
        params.append(org)  # type: ignore[arg-type]
    if unit is not None:
        where.append(f"unit = {mark}")
        params.append(unit)  # type: ignore[arg-type]
    sql = (f"SELECT {ACCOUNT_COLUMNS}, {BALANCE_COLUMNS} FROM accounts "
           f"WHERE {' AND '.join(where)} ORDER BY id")  # fmt: skip
    if limit is not None:
        sql += f" LIMIT {int(limit)}"
    rows = conn.exec_driver_sql(sql, tuple(params))
    return [(_account(r), Balance(r[8], r[9], r[10], r[11])) for r in rows]


def read_balance(conn: Connection, account_id: int) -> Balance | None:
    p = "%s" if pg(conn) else "?"
    row = conn.exec_driver_sql(
        f"SELECT {BALANCE_COLUMNS} FROM accounts WHERE id = {p}", (account_id,)
    ).first()
    return None if row is None else Balance(row[0], row[1], row[2], row[3])


def read_balances(conn: Connection, account_ids: Iterable[int]) -> dict[int, Balance]:
    """The balances of ``account_ids`` that exist, in one statement per chunk."""
    found: dict[int, Balance] = {}
    for chunk in chunks(sorted(set(account_ids))):
        where, params = in_clause(conn, "id", chunk)
        for r in conn.exec_driver_sql(f"SELECT id, {BALANCE_COLUMNS} FROM accounts WHERE {where}",
                                      params):  # fmt: skip
            found[r[0]] = Balance(r[1], r[2], r[3], r[4])
    return found


def cash_balances(conn: Connection, orgs: Sequence[str], currency: str) -> dict[str, Balance]:
    """The balances of the cash accounts in ``currency`` of ``orgs`` that have one, by org,
    in one statement (straight to the driver: every market fill reads a few)."""
    wanted = sorted(set(orgs))
    found: dict[str, Balance] = {}
    for chunk in chunks(wanted):
        for r in driver_sql.rows(conn, f"SELECT org, {BALANCE_COLUMNS} FROM accounts WHERE "
                                       f"unit = ? AND code = 'cash' AND org IN "
                                       f"({driver_sql.marks(len(chunk))})",
                                 [currency, *chunk]):  # fmt: skip
            found[r[0]] = Balance(r[1], r[2], r[3], r[4])
    return found


def lock_accounts(conn: Connection, account_ids: Iterable[int]) -> dict[int, AccountState]:
    """The touched accounts' balances, locked for the rest of the transaction.

    PostgreSQL locks the rows in id order, so two writers never wait on each other in a
    circle; SQLite's ``BEGIN IMMEDIATE`` already holds the one write lock.
    """
    ids = sorted(set(account_ids))
    states: dict[int, AccountState] = {}
    lock = " ORDER BY id FOR UPDATE" if pg(conn) else ""
    for chunk in chunks(ids):
        where, params = in_clause(conn, "id", chunk)
        rows = conn.exec_driver_sql(
            f"SELECT id, unit, balance_constraint, {BALANCE_COLUMNS}, org, code FROM accounts "
            f"WHERE {where}{lock}",
            params,
        )
        for r in rows:
            states[r[0]] = AccountState(
                r[1], BalanceConstraint(r[2]), r[3], r[4], r[5], r[6], f"{r[7]}:{r[8]}:{r[1]}"
            )
    return states


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
    for chunk in chunks(sorted(set(units))):
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
        org_filter, org_params = in_clause(conn, "org", sorted(set(orgs)))
        org_filter = f" AND {org_filter}"
    where, params = in_clause(conn, "unit", units)
    sql = f"SELECT id, org, unit, code FROM accounts WHERE {where} AND code IN ({code_list})"
    return sql + org_filter, tuple(params) + tuple(org_params)


def insert_accounts(
    conn: Connection, rows: Sequence[tuple[str, str, str, str, BalanceConstraint]], now: int
) -> dict[tuple[str, str, str], int]:
    """Open many accounts at once: (org, unit, type, code, constraint) each, in one statement
    (a chunk of them on SQLite); their ids by (org, unit, code)."""
    if not rows:
        return {}
    if pg(conn):
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
    for chunk in chunks(rows, 5_000):
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
    p = "%s" if pg(conn) else "?"
    conn.exec_driver_sql(
        f"INSERT INTO units (code, kind, exponent, name) VALUES ({p}, {p}, {p}, {p})",
        [(u.code, u.kind.value, u.exponent, u.name) for u in units],
    )
