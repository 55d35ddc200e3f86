"""The accounting export and the table exports (issue 15), on SQLite and PostgreSQL: the
demo economy's ledger as beancount passes ``bean-check``, and what beancount reads back
equals our balances per account and unit — for the whole platform and for one
organization's part; every table's CSV and Parquet hold its rows, and the postings still
balance per unit."""

from __future__ import annotations

import csv
import io
import subprocess
import sys
from collections import defaultdict
from datetime import date
from decimal import Decimal
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from beancount import loader
from beancount.core import data

from capillary.domain import beancount as bc
from capillary.domain.access import Principal
from capillary.domain.errors import Forbidden, OrganizationNotFound
from capillary.domain.parties import Role
from capillary.simulation.demo import run_demo

OPS = Principal("capillary-ops", "ops:test", frozenset({Role.OPERATOR}))
AUDITOR = Principal("audit-firm", "a:test", frozenset({Role.AUDITOR}))
BEAN_CHECK = Path(sys.executable).with_name("bean-check")


def _read_back(text: str) -> tuple[dict[tuple[str, str], Decimal], set[str]]:
    """What beancount makes of the file: each account's total per commodity, and the
    commodities declared; no error of any kind."""
    entries, errors, _ = loader.load_string(text)
    assert errors == []
    totals: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for e in entries:
        if isinstance(e, data.Transaction):
            for p in e.postings:
                assert p.units is not None
                totals[(p.account, str(p.units.currency))] += Decimal(p.units.number or 0)
    commodities = {e.currency for e in entries if isinstance(e, data.Commodity)}
    return dict(totals), commodities


def _ours(done: object, org: str | None) -> dict[tuple[str, str], Decimal]:
    """Our balances, named as the export names them."""
    db = done.platform.ledger.db  # type: ignore[attr-defined]
    with db.engine.connect() as conn:
        rows = conn.exec_driver_sql(
            "SELECT a.id, a.org, a.type, a.code, a.unit, u.exponent, "
            "a.debits_posted - a.credits_posted FROM accounts a JOIN units u ON u.code = a.unit"
        ).fetchall()
        exponents = dict(conn.exec_driver_sql("SELECT code, exponent FROM units").fetchall())
    accounts = [bc.BookAccount(r[0], r[1], r[2], r[3], r[4], r[5], date(2026, 1, 1), int(r[6]))
                for r in rows if org is None or r[1] == org]  # fmt: skip
    names = bc.names(accounts, exponents)
    return {(names.accounts[a.id], names.commodities[a.unit]):
            Decimal(a.balance).scaleb(-a.exponent) for a in accounts}  # fmt: skip


def test_the_ledger_as_beancount_checks_and_equals_our_balances(
    store_url: str, tmp_path: Path
) -> None:
    done = run_demo(store_url, orgs=40, days=60, seed=5, start=date(2026, 1, 5))
    p = done.platform
    try:
        whole = io.StringIO()
        written = p.exports.beancount(whole, principal=AUDITOR)
        assert written > 50
        path = tmp_path / "books.beancount"
        path.write_text(whole.getvalue())
        checked = subprocess.run([BEAN_CHECK, path], capture_output=True, text=True)
        assert checked.returncode == 0, checked.stdout + checked.stderr

        totals, commodities = _read_back(whole.getvalue())
        ours = _ours(done, None)
        assert {k: v for k, v in totals.items() if v} == {k: v for k, v in ours.items() if v}
        assert "CNY" in commodities
        assert any(c.startswith("CERT-") for c in commodities)  # certificates as commodities

        # One organization's part: its accounts, others' legs summed into counterparties.
        holder = next(k[0].split(":")[1].lower() for k in ours
                      if ":Held:CERT-" in k[0] and ours[k])  # fmt: skip
        own = io.StringIO()
        me = Principal(holder, "u", frozenset())
        assert p.exports.beancount(own, principal=me, org=holder) > 0
        mine, _ = _read_back(own.getvalue())
        expected = _ours(done, holder)
        assert {k: v for k, v in mine.items() if not k[0].startswith("Equity:Counterparties")
                and v} == {k: v for k, v in expected.items() if v}  # fmt: skip
        (tmp_path / "own.beancount").write_text(own.getvalue())
        checked = subprocess.run([BEAN_CHECK, tmp_path / "own.beancount"], capture_output=True)
        assert checked.returncode == 0

        with pytest.raises(Forbidden):
            p.exports.beancount(io.StringIO(), principal=me)
        other = next(o for o in ("t1-auto-0001", "t1-auto-0002") if o != holder)
        with pytest.raises(OrganizationNotFound):
            p.exports.beancount(io.StringIO(), principal=me, org=other)

        # A balance of ours changed in the file: bean-check says so.
        text = whole.getvalue()
        last = text.rstrip().rsplit("\n", 1)[-1]
        amount = last.split()[-2]
        forged = text.replace(last, last.replace(amount, str(Decimal(amount) + 1)))
        path.write_text(forged)
        assert subprocess.run([BEAN_CHECK, path], capture_output=True).returncode != 0
    finally:
        p.ledger.db.dispose()


def test_tables_as_csv_and_parquet(store_url: str, tmp_path: Path) -> None:
    done = run_demo(store_url, orgs=30, days=30, seed=5, start=date(2026, 1, 5))
    p = done.platform
    try:
        with pytest.raises(Forbidden):
            p.exports.tables(tmp_path, principal=Principal("t1-auto-0001", "u", frozenset()))
        as_csv = p.exports.tables(tmp_path / "csv", principal=OPS)
        as_parquet = p.exports.tables(tmp_path / "pq", principal=AUDITOR, fmt="parquet")
        with p.ledger.db.engine.connect() as conn:
            counts = {
                t: conn.exec_driver_sql(f"SELECT count(*) FROM {t}").scalar_one()
                for t in ("purchase_orders", "invoices", "fragments", "postings")
            }
    finally:
        p.ledger.db.dispose()
    assert as_csv == as_parquet
    assert as_csv["orders"] == counts["purchase_orders"] > 0
    assert as_csv["invoices"] == counts["invoices"] > 0
    assert as_csv["fragments"] == counts["fragments"] > 0
    assert as_csv["postings"] == counts["postings"] > 0
    with (tmp_path / "csv" / "postings.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == counts["postings"]
    postings = pq.read_table(tmp_path / "pq" / "postings.parquet").to_pylist()
    assert len(postings) == counts["postings"]
    net: dict[str, int] = defaultdict(int)
    for r in postings:
        assert isinstance(r["amount"], int)
        net[r["unit"]] += r["amount"] if r["side"] == "D" else -r["amount"]
    assert set(net.values()) == {0}  # double entry survives the export
    invoices = pq.read_table(tmp_path / "pq" / "invoices.parquet")
    assert invoices.num_rows == counts["invoices"]
    assert str(invoices.schema.field("total").type) == "int64"
