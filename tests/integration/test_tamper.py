"""Tampering with the journal behind the ledger's back, and verify naming what was done."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from capillary.domain.ledger import credit, debit, make_request
from capillary.services.ledger import LedgerService
from tests.support.scenario import open_books


def _as_attacker(ledger: LedgerService, sql: str) -> None:
    """Run ``sql`` with the append-only triggers out of the way, as someone holding the
    database's owner credentials could."""
    with ledger.db.engine.begin() as conn:
        if ledger.db.is_postgresql:
            conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
        else:
            for (name,) in conn.exec_driver_sql(
                "SELECT name FROM sqlite_master WHERE type = 'trigger'"
            ).fetchall():
                conn.exec_driver_sql(f"DROP TRIGGER {name}")
        for statement in sql.split(";"):
            if statement.strip():
                conn.exec_driver_sql(statement)


def _posted_ledger(ledger: LedgerService) -> dict[int, int]:
    """Eight sealed transfers with one id left unused in the middle; seq -> transaction id."""
    books = open_books(ledger, "core", "tier1")
    books.deposit("core", 10_000, key="deposit")
    core, tier1 = books.cash["core"].id, books.cash["tier1"].id
    requests = [
        make_request(key=f"t{i}", legs=[debit(core, 100 + i), credit(tier1, 100 + i)])
        for i in range(8)
    ]
    requests.insert(
        4, make_request(key="refused", legs=[debit(core, 99_999), credit(tier1, 99_999)])
    )
    result = ledger.submit(requests, atomic=False)
    assert [e.key for e in result.errors] == ["refused"]
    assert ledger.seal() == 9
    report = ledger.verify()
    assert report.ok
    assert report.entries == 9
    with ledger.db.engine.connect() as conn:
        rows = conn.exec_driver_sql("SELECT seq, transaction_id FROM journal_seals").fetchall()
    return {seq: tx for seq, tx in rows}


def _findings(ledger: LedgerService) -> set[tuple[str, int | None]]:
    return {(f.kind, f.seq) for f in ledger.verify().findings}


def _change(seqs: dict[int, int]) -> tuple[str, set[tuple[str, int | None]]]:
    tx = seqs[3]
    return (
        f"UPDATE postings SET amount = amount + 1 WHERE transaction_id = {tx}",
        {("changed", 3)},
    )


def _change_header(seqs: dict[int, int]) -> tuple[str, set[tuple[str, int | None]]]:
    return (
        f"UPDATE transactions SET posted_at = posted_at - 86400000000 WHERE id = {seqs[6]}",
        {("changed", 6)},
    )


def _remove_entry(seqs: dict[int, int]) -> tuple[str, set[tuple[str, int | None]]]:
    tx = seqs[4]
    return (
        f"DELETE FROM postings WHERE transaction_id = {tx};"
        f"DELETE FROM transactions WHERE id = {tx}",
        {("removed", 4)},
    )


def _remove_leg(seqs: dict[int, int]) -> tuple[str, set[tuple[str, int | None]]]:
    return (f"DELETE FROM postings WHERE transaction_id = {seqs[2]} AND leg = 1", {("changed", 2)})


def _remove_seal(seqs: dict[int, int]) -> tuple[str, set[tuple[str, int | None]]]:
    return ("DELETE FROM journal_seals WHERE seq = 5", {("removed", 5), ("inserted", None)})


def _insert_entry(seqs: dict[int, int]) -> tuple[str, set[tuple[str, int | None]]]:
    # A backdated transfer forged below the first sealed id.
    gap = 0
    return (
        f"INSERT INTO transactions (id, idempotency_key, kind, posted_at, leg_count) "
        f"VALUES ({gap}, 'forged', 'posted', 1, 2);"
        f"INSERT INTO postings (transaction_id, leg, account_id, unit, side, amount) "
        f"SELECT {gap}, 0, min(account_id), 'CNY', 'D', 5 FROM postings;"
        f"INSERT INTO postings (transaction_id, leg, account_id, unit, side, amount) "
        f"SELECT {gap}, 1, max(account_id), 'CNY', 'C', 5 FROM postings",
        {("inserted", None)},
    )


def _insert_leg(seqs: dict[int, int]) -> tuple[str, set[tuple[str, int | None]]]:
    tx = seqs[7]
    return (
        f"INSERT INTO postings (transaction_id, leg, account_id, unit, side, amount) "
        f"SELECT {tx}, 2, account_id, unit, side, 1 FROM postings WHERE transaction_id = {tx} "
        "AND leg = 0",
        {("changed", 7)},
    )


def _swap_seals(seqs: dict[int, int]) -> tuple[str, set[tuple[str, int | None]]]:
    return (
        "UPDATE journal_seals SET seq = -seq WHERE seq IN (5, 6);"
        "UPDATE journal_seals SET seq = 6 WHERE seq = -5;"
        "UPDATE journal_seals SET seq = 5 WHERE seq = -6",
        # Both moved seals and the link to the next one no longer follow from their
        # predecessors; the transaction order gives the swap away.
        {("reordered", 6), ("chain_broken", 5), ("chain_broken", 6), ("chain_broken", 7)},
    )


def _swap_entries(seqs: dict[int, int]) -> tuple[str, set[tuple[str, int | None]]]:
    a, b = seqs[7], seqs[8]
    return (
        f"UPDATE journal_seals SET transaction_id = -1 WHERE seq = 7;"
        f"UPDATE journal_seals SET transaction_id = {a} WHERE seq = 8;"
        f"UPDATE journal_seals SET transaction_id = {b} WHERE seq = 7",
        {("reordered", 7), ("reordered", 8)},
    )


def _rewrite_seal(seqs: dict[int, int]) -> tuple[str, set[tuple[str, int | None]]]:
    forged = "X'" + "00" * 32 + "'"
    return (
        f"UPDATE journal_seals SET chain = {forged} WHERE seq = 2",
        {("chain_broken", 2), ("chain_broken", 3)},
    )


TAMPERS: dict[str, Callable[[dict[int, int]], tuple[str, set[tuple[str, int | None]]]]] = {
    "change a leg's amount": _change,
    "backdate an entry": _change_header,
    "remove an entry": _remove_entry,
    "remove one leg": _remove_leg,
    "remove a seal": _remove_seal,
    "insert a forged entry": _insert_entry,
    "insert a leg into an old entry": _insert_leg,
    "swap two seals": _swap_seals,
    "swap two entries under their seals": _swap_entries,
    "rewrite a seal's hash": _rewrite_seal,
}


@pytest.mark.parametrize("tamper", TAMPERS)
def test_verify_names_each_kind_of_tampering(ledger: LedgerService, tamper: str) -> None:
    seqs = _posted_ledger(ledger)
    sql, expected = TAMPERS[tamper](seqs)
    if ledger.db.is_postgresql:
        sql = sql.replace("X'", "'\\x").replace("'00", "00")
    _as_attacker(ledger, sql)
    assert _findings(ledger) == expected


def test_what_is_posted_after_the_last_seal_is_counted_not_judged(ledger: LedgerService) -> None:
    _posted_ledger(ledger)
    books_core = ledger.find_account(org="core", unit="CNY", code="cash").id
    books_tier1 = ledger.find_account(org="tier1", unit="CNY", code="cash").id
    ledger.post(key="late", legs=[debit(books_core, 1), credit(books_tier1, 1)])
    report = ledger.verify()
    assert report.ok
    assert report.unsealed == 1
    assert ledger.seal() == 1
    assert ledger.verify().unsealed == 0


def test_an_entry_forged_after_the_head_shows_in_the_balances(ledger: LedgerService) -> None:
    """The chain cannot judge what was never sealed; the forger also did not (could not,
    without being seen) move the balances its legs imply, and the recomputation shows it."""
    seqs = _posted_ledger(ledger)
    top = max(seqs.values()) + 1
    _as_attacker(
        ledger,
        "INSERT INTO transactions (id, idempotency_key, kind, posted_at, leg_count) "
        f"VALUES ({top}, 'forged-late', 'posted', 1, 2);"
        "INSERT INTO postings (transaction_id, leg, account_id, unit, side, amount) "
        f"SELECT {top}, 0, min(account_id), 'CNY', 'D', 5 FROM postings;"
        "INSERT INTO postings (transaction_id, leg, account_id, unit, side, amount) "
        f"SELECT {top}, 1, max(account_id), 'CNY', 'C', 5 FROM postings",
    )
    assert ledger.verify().unsealed == 1
    assert len(ledger.check_balances()) == 2


def _refused(ledger: LedgerService, sql: str) -> None:
    with pytest.raises(sa.exc.DBAPIError), ledger.db.engine.begin() as conn:
        conn.exec_driver_sql(sql)


def test_the_journal_is_append_only_in_the_database(ledger: LedgerService) -> None:
    seqs = _posted_ledger(ledger)
    tx = seqs[2]
    _refused(ledger, f"UPDATE postings SET amount = 1 WHERE transaction_id = {tx}")
    _refused(ledger, f"DELETE FROM postings WHERE transaction_id = {tx}")
    _refused(ledger, f"UPDATE transactions SET ref = 'x' WHERE id = {tx}")
    _refused(ledger, f"DELETE FROM transactions WHERE id = {tx}")
    _refused(ledger, "UPDATE journal_seals SET sealed_at = 0")
    _refused(ledger, "DELETE FROM journal_seals")
    if ledger.db.is_postgresql:
        _refused(ledger, "TRUNCATE postings")
    assert ledger.verify().ok


def _insert_raw(conn: Connection, tx: int, legs: list[tuple[int, int, str, int]]) -> None:
    conn.exec_driver_sql(
        "INSERT INTO transactions (id, idempotency_key, kind, posted_at, leg_count) "
        f"VALUES ({tx}, 'raw-{tx}', 'posted', 1, 2)"
    )
    for leg, (n, account, side, amount) in enumerate(legs):
        conn.exec_driver_sql(
            "INSERT INTO postings (transaction_id, leg, account_id, unit, side, amount) "
            f"VALUES ({tx}, {n if n >= 0 else leg}, {account}, 'CNY', '{side}', {amount})"
        )


@pytest.mark.postgres
def test_postgresql_itself_refuses_an_unbalanced_or_incomplete_transaction(
    pg_ledger: LedgerService,
) -> None:
    ledger = pg_ledger
    books = open_books(ledger, "core", "tier1")
    core, tier1 = books.cash["core"].id, books.cash["tier1"].id
    cases = {
        "unbalanced": [(0, core, "D", 5), (1, tier1, "C", 4)],
        "unknown account": [(0, core, "D", 5), (1, 424242, "C", 5)],
        "one leg of two": [(0, core, "D", 5)],
    }
    for legs in cases.values():
        refused = pytest.raises(sa.exc.IntegrityError, match="unbalanced, incomplete")
        with refused, ledger.db.engine.begin() as conn:
            _insert_raw(conn, 9000, legs)
    # Both legs in one statement, balanced: accepted.
    with ledger.db.engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO transactions (id, idempotency_key, kind, posted_at, leg_count) "
            "VALUES (9001, 'raw-ok', 'posted', 1, 2)"
        )
        conn.exec_driver_sql(
            "INSERT INTO postings (transaction_id, leg, account_id, unit, side, amount) VALUES "
            f"(9001, 0, {core}, 'CNY', 'D', 5), (9001, 1, {tier1}, 'CNY', 'C', 5)"
        )
    # A leg slipped into that transaction later: refused.
    with pytest.raises(sa.exc.IntegrityError), ledger.db.engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO postings (transaction_id, leg, account_id, unit, side, amount) "
            f"VALUES (9001, 2, {core}, 'CNY', 'D', 5)"
        )
    with pytest.raises(sa.exc.IntegrityError), ledger.db.engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO postings (transaction_id, leg, account_id, unit, side, amount) "
            f"VALUES (9001, 2, {core}, 'CNY', 'D', 5), (9001, 3, {tier1}, 'CNY', 'C', 5)"
        )


def test_a_parallel_scan_finds_what_a_single_one_does(ledger: LedgerService) -> None:
    """The journal cut into ranges, one worker process each: a swap across the cut is
    still named a reordering, and a change in the second range is still found."""
    seqs = _posted_ledger(ledger)
    assert ledger.verify(parallel=True).ok
    _as_attacker(
        ledger, f"UPDATE postings SET amount = amount + 1 WHERE transaction_id = {seqs[8]}"
    )
    a, b = seqs[4], seqs[6]  # seqs 1..5 and 6..9 fall to different workers
    _as_attacker(
        ledger,
        "UPDATE journal_seals SET transaction_id = -1 WHERE seq = 4;"
        f"UPDATE journal_seals SET transaction_id = {a} WHERE seq = 6;"
        f"UPDATE journal_seals SET transaction_id = {b} WHERE seq = 4",
    )
    single = ledger.verify(parallel=False)
    parallel = ledger.verify(parallel=True)
    assert {(f.kind, f.seq) for f in parallel.findings} == {
        (f.kind, f.seq) for f in single.findings
    }
    assert {("reordered", 4), ("reordered", 6), ("changed", 8)} <= {
        (f.kind, f.seq) for f in parallel.findings
    }
