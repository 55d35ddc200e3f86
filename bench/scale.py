"""The largest platform's peak day, replayed against one PostgreSQL here (issue 15).

    python bench/scale.py                     # the model below, the whole peak day replayed
    python bench/scale.py --share 0.1         # a tenth of it (the figures scale to the day)
    python bench/scale.py --workers 8         # as many concurrent clients

First the load: a platform of the largest kind (``--suppliers`` 300,000 billing monthly,
``--annual-cny`` 60 billion of certificates a year at ``--face-cny`` 500,000 each, each
passed on three times, financed 1.5 times, paid out to about six holders), its busiest day
``--peak-factor`` times an average one (quarter-end), its busiest hour ``--peak-hour`` of
that day. These are assumptions, printed with what follows from them: change them to
model another platform.

Then the replay: the peak day's operations (times ``--share``) through the service layer
on one fresh PostgreSQL 15 on this 2-core machine — the trade documents imported as
suppliers send them (one file per party: ``bench/trade.py``'s import), every certificate
operation one call under its own principal and idempotency key (issue, accept, three
transfers, financings offered and accepted, withdrawals, deposits), ``--workers``
concurrent clients, then the day's maturities settled in one run, then balances read.
Headroom is what was sustained against what the peak hour asks for.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import trade
from stores import fresh_store

from capillary.adapters.clock import ManualClock
from capillary.adapters.database import Database
from capillary.adapters.migrate import upgrade
from tests.support.acting import as_, operator
from tests.support.loop import OPS, Loop, Y

console = Console()
DAY = date(2026, 12, 31)  # a quarter-end
MATURITY = date(2027, 3, 31)


@dataclass(frozen=True)
class Load:
    """A peak day's operations, from the platform's size."""

    suppliers: int
    annual_cny: float
    face_cny: float
    peak_factor: float
    peak_hour: float
    days: int = 250  # business days a year

    def per_year(self) -> dict[str, float]:
        certificates = self.annual_cny / self.face_cny
        invoices = self.suppliers * 12.0  # a supplier bills monthly
        financings = certificates * 1.5
        return {
            "orders": invoices, "deliveries": invoices, "invoices": invoices,
            "issue": certificates, "accept": certificates, "transfers": certificates * 3,
            "financings (offer + accept)": financings * 2, "withdrawals": financings,
            "deposits": certificates, "settlement payouts": certificates * 6,
        }  # fmt: skip

    def peak_day(self) -> dict[str, float]:
        return {k: v / self.days * self.peak_factor for k, v in self.per_year().items()}

    def peak_hour_per_second(self) -> dict[str, float]:
        return {k: v * self.peak_hour / 3600 for k, v in self.peak_day().items()}


def _timed(label: str, work: Callable[[], int], figures: dict[str, tuple[int, float]]) -> None:
    with console.status(f"{label}…"):
        start = time.perf_counter()
        done = work()
        figures[label] = (done, time.perf_counter() - start)
    count, took = figures[label]
    console.print(f"  {label}: {count:,} in {took:.1f} s ({count / took:,.0f}/s)")


def _parallel(workers: int, tasks: Sequence[Callable[[], Any]]) -> list[Any]:
    if workers <= 1:
        return [t() for t in tasks]
    with ThreadPoolExecutor(workers) as pool:
        return list(pool.map(lambda t: t(), tasks))


def replay_loop(url: str, certificates: int, workers: int) -> dict[str, tuple[int, float]]:
    """Issue, accept, pass on, finance, withdraw, deposit, settle, read: ``certificates``
    certificates' worth of a peak day, through the services."""
    db = Database(url)
    upgrade(db)
    clock = ManualClock()
    loop = Loop(db, clock)
    certs = loop.certs
    payable = loop.payable("core", "tier1", 10**10, "26442000000000000001")
    certs.set_issuance_limit(obligor="core", cur="CNY", limit=10**16, actor=OPS)
    for funder in ("bank", "bank2"):
        certs.grant_credit(funder=funder, obligor="core", cur="CNY", limit=10**16,
                           expires_on=date(2027, 12, 31))  # fmt: skip
        certs.deposit(org=funder, cur="CNY", amount=10**15, key=f"fund-{funder}")
    certs.deposit(org="core", cur="CNY", amount=10**15, key="fund-core")
    certs.on(DAY)
    face = 500_000 * Y
    service = certs.service
    figures: dict[str, tuple[int, float]] = {}
    numbers: list[str] = []

    def issue(i: int) -> Callable[[], None]:
        def run() -> None:
            numbers.append(service.issue(obligor="core", holder="tier1", payable_ids=[payable],
                                         face=face, maturity=MATURITY, principal=as_("core"),
                                         key=f"issue-{i}").certificate.number)  # fmt: skip

        return run

    _timed("issue", lambda: len(_parallel(workers, [issue(i) for i in range(certificates)])),
           figures)  # fmt: skip
    _timed("accept", lambda: len(_parallel(workers, [
        (lambda n=n: service.accept(n, principal=as_("tier1"), key=f"accept-{n}"))
        for n in numbers])), figures)  # fmt: skip
    roots = {n: service.fragments(n, principal=operator())[0].id for n in numbers}
    held: dict[str, tuple[int, int]] = {}

    def pass_on(n: str) -> Callable[[], None]:
        def run() -> None:  # three transfers down the chain, one after another
            t2, change = service.transfer(fragment_id=roots[n], recipient="tier2",
                                          amount=200_000 * Y, reference="contract:scale",
                                          principal=as_("tier1"), key=f"t1-{n}")  # fmt: skip
            t2b, change = service.transfer(fragment_id=change.id, recipient="tier2",
                                           amount=100_000 * Y, reference="contract:scale",
                                           principal=as_("tier1"), key=f"t2-{n}")  # fmt: skip
            service.transfer(fragment_id=t2.id, recipient="tier3", amount=100_000 * Y,
                             reference="contract:scale", principal=as_("tier2"),
                             key=f"t3-{n}")  # fmt: skip
            held[n] = (change.id, t2b.id)

        return run

    _timed("transfers", lambda: 3 * len(_parallel(workers, [pass_on(n) for n in numbers])),
           figures)  # fmt: skip

    def finance(n: str, i: int) -> Callable[[], int]:
        def run() -> int:  # tier1 sells its change; every other certificate tier2 too
            sales = [("tier1", held[n][0], "bank", 100_000 * Y)]
            if i % 2 == 0:
                sales.append(("tier2", held[n][1], "bank2", 100_000 * Y))
            for seller, fragment, funder, amount in sales:
                offer = service.offer_financing(
                    principal=as_(seller), fragment_id=fragment, funder=funder, amount=amount,
                    rate=Decimal("0.045"), key=f"o-{fragment}",
                )  # fmt: skip
                service.accept_financing(offer.id, principal=as_(funder), key=f"a-{fragment}")
            return 2 * len(sales)

        return run

    _timed("financings (offer + accept)", lambda: sum(_parallel(workers, [
        finance(n, i) for i, n in enumerate(numbers)])), figures)  # fmt: skip
    sellers = ["tier1", "tier2"]
    _timed("withdrawals", lambda: len(_parallel(workers, [
        (lambda i=i: service.withdraw(principal=as_(sellers[i % 2]), org=sellers[i % 2],
                                      cur="CNY", amount=1_000 * Y, key=f"w-{i}"))
        for i in range(certificates * 3 // 2)])), figures)  # fmt: skip
    _timed("deposits", lambda: len(_parallel(workers, [
        (lambda i=i: service.deposit(principal=operator(), org="core", cur="CNY",
                                     amount=500_000 * Y, key=f"d-{i}"))
        for i in range(certificates)])), figures)  # fmt: skip
    certs.on(MATURITY)

    def settle() -> int:
        run = service.settle(principal=operator(), key="settle-peak")
        assert len(run.settled) == len(numbers), run.failed[:3]
        return int(run.fragments)  # each fragment paid to its holder

    _timed("settlement payouts", settle, figures)
    accounts = ["core", "tier1", "tier2", "tier3", "bank", "bank2"]
    _timed("balance reads", lambda: len(_parallel(workers, [
        (lambda i=i: service.cash(accounts[i % 6], "CNY", principal=operator()))
        for i in range(certificates * 10)])), figures)  # fmt: skip
    db.dispose()
    return figures


def main() -> None:
    raw = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=raw)
    parser.add_argument("--suppliers", type=int, default=300_000)
    parser.add_argument("--annual-cny", type=float, default=60e9)
    parser.add_argument("--face-cny", type=float, default=500_000)
    parser.add_argument("--peak-factor", type=float, default=4.0)
    parser.add_argument("--peak-hour", type=float, default=0.15)
    parser.add_argument("--share", type=float, default=1.0, help="Of the peak day, replayed.")
    parser.add_argument("--workers", type=int, default=4)
    args = parser.parse_args()
    console.print("Capillary scale benchmark: the largest platform's peak day on one PostgreSQL")
    load = Load(args.suppliers, args.annual_cny, args.face_cny, args.peak_factor, args.peak_hour)
    year, day, hour = load.per_year(), load.peak_day(), load.peak_hour_per_second()
    table = Table("operation", "a year", "the peak day", "its peak hour, /s",
                  title="The load of the largest platform (assumptions: see --help)")  # fmt: skip
    for k in year:
        table.add_row(k, f"{year[k]:,.0f}", f"{day[k]:,.0f}", f"{hour[k]:,.1f}")
    table.add_row("all writes", f"{sum(year.values()):,.0f}", f"{sum(day.values()):,.0f}",
                  f"{sum(hour.values()):,.1f}")  # fmt: skip
    console.print(table)

    certificates = max(2, round(day["issue"] * args.share))
    invoices = max(100, round(day["invoices"] * args.share))
    console.print(f"Replaying {args.share:.0%} of the peak day on PostgreSQL: {invoices:,} "
                  f"orders, deliveries and invoices; {certificates:,} certificates; "
                  f"{args.workers} clients.")  # fmt: skip
    measured: dict[str, tuple[int, float]] = {}
    with tempfile.TemporaryDirectory(prefix="capillary-scale-") as folder:
        files = trade.write_files(Path(folder), invoices)
        start = time.perf_counter()
        rates = trade.run("postgresql", files, invoices)
        took = time.perf_counter() - start
        for kind in ("orders", "deliveries", "invoices"):
            rate = next(v for k, v in rates.items() if k.startswith(kind))
            measured[kind] = (invoices, invoices / rate)
            console.print(f"  {kind}: {invoices:,} imported at {rate:,.0f}/s")
        console.print(f"  (trade documents, with matching: {took:.1f} s)")
    with fresh_store("postgresql", "capillary_bench_scale") as url:
        measured.update(replay_loop(url, certificates, args.workers))

    table = Table("operation", "peak hour asks, /s", "sustained here, /s", "headroom",
                  title="One PostgreSQL on this 2-core machine against the peak hour")  # fmt: skip
    need_total = took_total = 0.0
    for k, (count, took) in measured.items():
        if k == "balance reads":
            table.add_row(k, "—", f"{count / took:,.0f}", "—")
            continue
        kind = k
        rate = count / took
        need = hour[kind]
        table.add_row(k, f"{need:,.1f}", f"{rate:,.0f}", f"{rate / need:,.0f}×")
        need_total += day[kind] * args.peak_hour  # the peak hour's operations of this kind
        took_total += day[kind] * args.peak_hour / rate
    console.print(table)
    console.print(f"The peak hour's {need_total:,.0f} writes, at the rates sustained here one "
                  f"kind after another, take {took_total / 60:,.1f} minutes of the hour: "
                  f"headroom {3600 / took_total:,.1f}×; the whole peak day's "
                  f"{sum(day.values()):,.0f} take {took_total / args.peak_hour / 3600:,.2f} "
                  "hours.")  # fmt: skip


if __name__ == "__main__":
    main()
