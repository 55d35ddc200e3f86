"""Ledger benchmark: posting throughput, balance reads against history length, verify speed.

    python bench/ledger.py                 # SQLite and PostgreSQL, full size
    python bench/ledger.py --store sqlite  # one store
    python bench/ledger.py --quick         # small sizes, to check it runs

Everything is on: idempotency keys, balance constraints on every account, materialized
balances, the PostgreSQL balance trigger, full durability (SQLite synchronous=FULL in WAL
mode; PostgreSQL with fsync and synchronous_commit as the server is configured). Times are
of the service calls only (requests are built beforehand, as a client would have them).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console
from rich.progress import Progress
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from stores import fresh_store

from capillary.adapters import migrate
from capillary.adapters.database import Database
from capillary.domain.ledger import (
    BalanceConstraint,
    Leg,
    Side,
    TransactionRequest,
    credit,
    debit,
)
from capillary.services.ledger import LedgerService

console = Console()
NO_OVERDRAFT = BalanceConstraint.DEBITS_MUST_NOT_EXCEED_CREDITS


@dataclass
class Sizes:
    accounts: int = 1_000
    single: int = 3_000  # one transaction per commit
    batches_of_100: int = 300
    batches_of_10k: int = 20
    history: int = 1_000_000  # postings on the 'long history' account
    reads: int = 2_000

    @classmethod
    def quick(cls) -> Sizes:
        return cls(
            accounts=50, single=100, batches_of_100=5, batches_of_10k=2, history=20_000, reads=200
        )


@dataclass
class Results:
    store: str
    figures: dict[str, float | str] = field(default_factory=dict)


class Keys:
    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.n = 0

    def __call__(self) -> str:
        self.n += 1
        return f"{self.prefix}-{self.n:09d}"


def transfers(
    accounts: list[int], count: int, keys: Keys, rng: random.Random
) -> list[TransactionRequest]:
    out = []
    n = len(accounts)
    for _ in range(count):
        a = rng.randrange(n)
        b = (a + 1 + rng.randrange(n - 1)) % n
        amount = rng.randrange(1, 1_000)
        out.append(
            TransactionRequest(
                key=keys(),
                legs=(Leg(accounts[a], Side.DEBIT, amount), Leg(accounts[b], Side.CREDIT, amount)),
            )
        )
    return out


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def run(store: str, sizes: Sizes) -> Results:
    results = Results(store)
    f = results.figures
    rng = random.Random(2026)
    with fresh_store(store, "capillary_bench") as url:
        db = Database(url)
        migrate.upgrade(db)
        ledger = LedgerService(db)
        clearing = ledger.open_account(org="platform", unit="CNY", type="asset", code="clearing")
        accounts = [
            ledger.open_account(
                org=f"org{i:05d}",
                unit="CNY",
                type="liability",
                code="cash",
                constraint=NO_OVERDRAFT,
            ).id
            for i in range(sizes.accounts)
        ]
        fund = [
            TransactionRequest(
                key=f"fund-{a}", legs=(debit(clearing.id, 10**12), credit(a, 10**12))
            )
            for a in accounts
        ]
        ledger.submit(fund)
        keys = Keys("tx")

        with Progress(console=console, transient=True) as progress:
            # One transaction per commit.
            work = transfers(accounts, sizes.single, keys, rng)
            task = progress.add_task(f"[{store}] 1 per commit", total=len(work))
            start = time.perf_counter()
            for request in work:
                ledger.submit([request])
                progress.advance(task)
            f["tx/s, batch of 1"] = len(work) / (time.perf_counter() - start)

            for size, count in ((100, sizes.batches_of_100), (10_000, sizes.batches_of_10k)):
                task = progress.add_task(f"[{store}] batches of {size:,}", total=count)
                elapsed = 0.0
                for _ in range(count):
                    batch = transfers(accounts, size, keys, rng)
                    elapsed += timed(lambda batch=batch: ledger.submit(batch))
                    progress.advance(task)
                f[f"tx/s, batch of {size:,}"] = size * count / elapsed

            # Two accounts: one with 1,000 postings, one with a long history.
            short = ledger.open_account(org="short", unit="CNY", type="liability", code="cash").id
            long = ledger.open_account(org="long", unit="CNY", type="liability", code="cash").id
            ledger.submit(
                [
                    TransactionRequest(key=keys(), legs=(debit(clearing.id, 5), credit(short, 5)))
                    for _ in range(1_000)
                ]
            )
            task = progress.add_task(
                f"[{store}] {sizes.history:,} postings on one account", total=sizes.history
            )
            done = 0
            build = 0.0
            while done < sizes.history:
                n = min(10_000, sizes.history - done)
                batch = [
                    TransactionRequest(
                        key=keys(), legs=(debit(accounts[i % len(accounts)], 3), credit(long, 3))
                    )
                    for i in range(n)
                ]
                build += timed(lambda batch=batch: ledger.submit(batch))
                done += n
                progress.advance(task, n)
            f["tx/s, one hot account, batch of 10,000"] = sizes.history / build

            for label, account in (("1,000", short), (f"{sizes.history:,}", long)):
                samples = []
                for _ in range(sizes.reads):
                    start = time.perf_counter()
                    ledger.balance(account)
                    samples.append(time.perf_counter() - start)
                samples.sort()
                f[f"balance read µs, {label} postings (median)"] = statistics.median(samples) * 1e6
                f[f"balance read µs, {label} postings (p99)"] = (
                    samples[int(len(samples) * 0.99)] * 1e6
                )
                moment = ledger.clock.now_us()
                f[f"balance-at read ms, {label} postings"] = (
                    timed(lambda a=account, m=moment: ledger.balance_at(a, m)) * 1e3
                )

            task = progress.add_task(f"[{store}] seal", total=None)
            start = time.perf_counter()
            sealed = ledger.seal()
            f["seal entries/s"] = sealed / (time.perf_counter() - start)
            progress.remove_task(task)
            task = progress.add_task(f"[{store}] verify {sealed:,} entries", total=None)
            start = time.perf_counter()
            report = ledger.verify()
            f["verify entries/s"] = report.entries / (time.perf_counter() - start)
            progress.remove_task(task)
            assert report.ok, report.findings[:3]
            f["entries verified"] = report.entries
            start = time.perf_counter()
            assert ledger.check_balances() == []
            f["recompute all balances s"] = time.perf_counter() - start
        db.dispose()
    return results


def show(all_results: list[Results]) -> None:
    table = Table(title="Capillary ledger benchmark", title_justify="left")
    table.add_column("figure")
    for r in all_results:
        table.add_column(r.store, justify="right")
    for name in all_results[0].figures:
        cells = []
        for r in all_results:
            value = r.figures.get(name, "")
            cells.append(f"{value:,.0f}" if isinstance(value, float) and value >= 100 else
                         f"{value:,.2f}" if isinstance(value, float) else f"{value:,}")  # fmt: skip
        table.add_row(name, *cells)
    console.print(table)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--store", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--quick", action="store_true", help="small sizes, to check it runs")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    sizes = Sizes.quick() if args.quick else Sizes()
    stores = ["sqlite", "postgresql"] if args.store == "both" else [args.store]
    console.print(
        f"{os.cpu_count()} cores; {sizes.accounts:,} accounts, every one with a balance "
        "constraint; durability full."
    )
    results = [run(store, sizes) for store in stores]
    show(results)
    if args.json:
        args.json.write_text(json.dumps({r.store: r.figures for r in results}, indent=2))


if __name__ == "__main__":
    main()
