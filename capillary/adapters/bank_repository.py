"""The queries behind bank files: accounts on file, payments queued and sent, the pain.001
files that sent them, and the statement entries booked."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy.engine import Connection

from capillary.adapters.driver_sql import is_pg, marks, rows, run
from capillary.domain.bank import BankAccount, Payment
from capillary.domain.ledger import POSTING_KINDS

_ACCOUNT = "org, currency, number, bic, holder, sweep"


def _account(r: Sequence[Any]) -> BankAccount:
    return BankAccount(r[0], r[1], r[2], r[3], r[4], bool(r[5]))


def account(conn: Connection, org: str, currency: str) -> BankAccount | None:
    found = rows(conn, f"SELECT {_ACCOUNT} FROM bank_accounts WHERE org = ? AND currency = ?",
                 [org, currency])  # fmt: skip
    return _account(found[0]) if found else None


def accounts_of(conn: Connection, org: str) -> list[BankAccount]:
    sql = f"SELECT {_ACCOUNT} FROM bank_accounts WHERE org = ? ORDER BY currency"
    return [_account(r) for r in rows(conn, sql, [org])]


def sweeping(conn: Connection, orgs: Sequence[str], currency: str) -> dict[str, BankAccount]:
    """Of ``orgs``, those whose settlement proceeds in ``currency`` are paid straight out."""
    if not orgs:
        return {}
    found = rows(conn, f"SELECT {_ACCOUNT} FROM bank_accounts WHERE sweep = ? AND currency = ? "
                       f"AND org IN ({marks(len(orgs))})", [True, currency, *orgs])  # fmt: skip
    return {r[0]: _account(r) for r in found}


def by_number(conn: Connection) -> dict[tuple[str, str], str]:
    """(account number, currency) → the organization it is on file for, where only one."""
    found: dict[tuple[str, str], list[str]] = {}
    for number, cur, org in rows(conn, "SELECT number, currency, org FROM bank_accounts"):
        found.setdefault((number, cur), []).append(org)
    return {k: v[0] for k, v in found.items() if len(v) == 1}


def put_account(conn: Connection, a: BankAccount, now: int) -> None:
    run(conn, "DELETE FROM bank_accounts WHERE org = ? AND currency = ?", [a.org, a.currency])
    run(conn, f"INSERT INTO bank_accounts ({_ACCOUNT}, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        [a.org, a.currency, a.number, a.bic, a.holder, a.sweep, now])  # fmt: skip


def queue_payments(conn: Connection, queued: Sequence[tuple[Payment, int]], now: int) -> list[int]:
    """Payments (with their ledger transaction) queued; returns their ids in order."""
    ids = []
    sql = ("INSERT INTO bank_payments (org, currency, amount, kind, reference, ledger_tx, "
           "creditor_number, creditor_bic, creditor_holder, status, created_at) "
           "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'queued', ?) RETURNING id")  # fmt: skip
    for p, tx in queued:
        c = p.creditor
        ids.append(rows(conn, sql, [p.org, p.currency, p.amount, p.kind, p.reference, tx,
                                    c.number, c.bic, c.holder, now])[0][0])  # fmt: skip
    return ids


_PAYMENT = ("id, org, currency, amount, kind, reference, creditor_number, creditor_bic, "
            "creditor_holder")  # fmt: skip


def _payment(r: Sequence[Any]) -> Payment:
    return Payment(r[0], r[1], r[2], int(r[3]), r[4], r[5],
                   BankAccount(r[1], r[2], r[6], r[7], r[8], False))  # fmt: skip


def queued(conn: Connection) -> list[Payment]:
    """Every queued payment, locked for the run that sends it."""
    lock = " FOR UPDATE" if is_pg(conn) else ""
    sql = f"SELECT {_PAYMENT} FROM bank_payments WHERE status = 'queued' ORDER BY currency, id"
    return [_payment(r) for r in rows(conn, sql + lock)]


def payments(conn: Connection, ids: Sequence[int]) -> dict[int, tuple[Payment, str]]:
    if not ids:
        return {}
    sql = f"SELECT {_PAYMENT}, status FROM bank_payments WHERE id IN ({marks(len(ids))})"
    return {r[0]: (_payment(r), r[9]) for r in rows(conn, sql, list(ids))}


def payments_of(conn: Connection, org: str | None, limit: int) -> list[tuple[Payment, str, str]]:
    sql = f"SELECT {_PAYMENT}, status, coalesce(message_id, '') FROM bank_payments"
    params: list[Any] = []
    if org is not None:
        sql += " WHERE org = ?"
        params.append(org)
    return [(_payment(r), r[9], r[10]) for r in rows(conn, sql + " ORDER BY id DESC LIMIT ?",
                                                    [*params, limit])]  # fmt: skip


def insert_file(conn: Connection, message_id: str, run_key: str, currency: str, debtor: str,
                sent: Sequence[Payment], document: str, now: int) -> None:  # fmt: skip
    run(conn, "INSERT INTO bank_files (message_id, run_key, currency, debtor_account, payments, "
              "total, document, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [message_id, run_key, currency, debtor, len(sent), sum(p.amount for p in sent),
         document, now])  # fmt: skip
    run(conn, f"UPDATE bank_payments SET status = 'sent', message_id = ? "
              f"WHERE id IN ({marks(len(sent))})", [message_id, *[p.id for p in sent]])  # fmt: skip


def files_of_run(conn: Connection, run_key: str) -> list[tuple[str, str, int, int, str]]:
    """A run's files: message id, currency, payments, total, document."""
    return [(r[0], r[1], int(r[2]), int(r[3]), r[4]) for r in rows(
        conn, "SELECT message_id, currency, payments, total, document FROM bank_files "
        "WHERE run_key = ? ORDER BY message_id", [run_key])]  # fmt: skip


def file_count(conn: Connection) -> int:
    return int(rows(conn, "SELECT count(*) FROM bank_files")[0][0])


def booked_references(conn: Connection, account: str, refs: Sequence[str]) -> set[str]:
    if not refs:
        return set()
    return {r[0] for r in rows(conn, "SELECT reference FROM bank_statement_entries WHERE "
                                     f"account = ? AND reference IN ({marks(len(refs))})",
                               [account, *refs])}  # fmt: skip


def book_entry(conn: Connection, account: str, statement_id: str, reference: str, currency: str,
               amount: int, credit: bool, booked_on: date, now: int, *, org: str | None = None,
               ledger_tx: int | None = None, payment_id: int | None = None) -> None:  # fmt: skip
    run(conn, "INSERT INTO bank_statement_entries (account, reference, statement_id, currency, "
              "amount, credit, booked_on, org, ledger_tx, payment_id, imported_at) "
              "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [account, reference, statement_id, currency, amount, credit, booked_on, org, ledger_tx,
         payment_id, now])  # fmt: skip
    if payment_id is not None:
        run(conn, "UPDATE bank_payments SET status = 'booked' WHERE id = ?", [payment_id])


def cash_lines(conn: Connection, account_id: int, start_us: int, end_us: int
               ) -> tuple[int, list[tuple[int, int, str, str, int]]]:  # fmt: skip
    """An account's credit balance before ``start_us``, and its postings until ``end_us``:
    (transaction, posted_at, side, ref, amount)."""
    posted = f"({', '.join(repr(k.value) for k in sorted(POSTING_KINDS))})"  # what balances count
    before = rows(conn, "SELECT coalesce(sum(CASE WHEN p.side = 'C' THEN p.amount ELSE "
                        "-p.amount END), 0) FROM postings p JOIN transactions t ON t.id = "
                        f"p.transaction_id WHERE p.account_id = ? AND t.kind IN {posted} "
                        "AND t.posted_at < ?", [account_id, start_us])[0][0]  # fmt: skip
    found = rows(conn, "SELECT t.id, t.posted_at, p.side, coalesce(t.ref, ''), p.amount "
                       "FROM postings p JOIN transactions t ON t.id = p.transaction_id "
                       f"WHERE p.account_id = ? AND t.kind IN {posted} AND t.posted_at >= ? "
                       "AND t.posted_at < ? ORDER BY t.id, p.leg",
                 [account_id, start_us, end_us])  # fmt: skip
    return int(before), [(r[0], r[1], r[2], r[3], int(r[4])) for r in found]
