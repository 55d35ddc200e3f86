"""Marketplace benchmark: how fast the market decides, and how fast its fills execute.

    python bench/market.py                 # both stores
    python bench/market.py --store sqlite --quick

- **Clearing**: an obligor's early-payment offer over 100,000 bids (APRs 2–12%, faces
  10,000.00–1,000,000.00, maturities over six months), cash for about half of them:
  ``capillary.domain.market.clear``, the decision alone.
- **Standing rules**: 10,000 requests (50 obligors, 2 grades, tiers 1–4, 1–180 days) against
  1,000 standing rules of 20 funders with caps per obligor and tier and credit lines:
  ``capillary.domain.market_rules.match_standing``, the decision alone.
- **Fills**: requests each quoted by two funders, then each holder takes the market
  (``MarketService.fill``, one call per request, each fill a financing through the ledger):
  financings per second, on SQLite and PostgreSQL.
- **A clearing run executed**: 2,000 bids on an early-payment offer with cash for all, one
  ``EarlyPaymentService.clear``: every cleared bid paid through the ledger in one unit of
  work, financings per second.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from stores import fresh_store

from capillary.adapters import migrate
from capillary.adapters.clock import ManualClock
from capillary.adapters.database import Database
from capillary.domain.market import Bid, Programme, Request, clear
from capillary.domain.market_rules import Context, StandingRule, match_standing
from capillary.services.certificates import IssueRequest
from capillary.services.closed_loop import loop_services
from tests.support.acting import as_
from tests.support.loop import OPS, Loop, Y

console = Console()
ON = date(2026, 12, 1)


def clearing(bids: int) -> dict[str, float]:
    rnd = random.Random(7)
    book = [
        Bid(i, f"h{i % 500}", i, rnd.randint(10_000, 1_000_000) * 100,
            Decimal(rnd.randint(200, 1200)) / 10_000, date(2027, rnd.randint(1, 6), 15),
            rnd.randint(0, 10**6))
        for i in range(bids)
    ]  # fmt: skip
    cash = sum(b.amount for b in book) // 2
    programme = Programme(1, "core", cash, Decimal("0.04"))
    started = time.perf_counter()
    done = clear(programme, book, on=ON, min_fill=100_00)
    took = time.perf_counter() - started
    return {"bids": bids, "cleared": len(done.cleared), "decide, s": took,
            "clearing APR": float(done.rate or 0)}  # fmt: skip


def standing(requests: int, rules: int) -> dict[str, float]:
    rnd = random.Random(11)
    grades, buckets = ("AA", "A"), ("0-30", "31-90", "91-180")
    obligors = [f"core{i}" for i in range(50)]
    book = [
        StandingRule(i, f"funder{i % 20}",
                     {(g, b): Decimal(rnd.randint(20, 300)) / 10_000
                      for g in grades for b in buckets if rnd.random() < 0.7},
                     cap_per_obligor=rnd.choice([None, 5_000_000_00]),
                     cap_per_tier=rnd.choice([None, 20_000_000_00]),
                     obligors=frozenset(rnd.sample(obligors, 5)))
        for i in range(rules)
    ]  # fmt: skip
    asks = [
        (Request(n, f"h{n % 900}", rnd.randint(1_000, 500_000) * 100,
                 Decimal(rnd.randint(300, 800)) / 10_000, None, n),
         Context(rnd.choice(obligors), rnd.choice(grades), rnd.randint(1, 4),
                 rnd.randint(1, 180), "CNY"))
        for n in range(requests)
    ]  # fmt: skip
    pools: dict[str, int] = {}
    for r in book:
        for o in r.obligors:
            pools[f"line:{r.funder}:{o}:CNY"] = 50_000_000_00
            if r.cap_per_obligor:
                pools[f"cap:{r.id}:obligor:{o}"] = r.cap_per_obligor
        for tier in range(1, 5):
            if r.cap_per_tier:
                pools[f"cap:{r.id}:tier:{tier}"] = r.cap_per_tier
    started = time.perf_counter()
    fills, _ = match_standing(asks, book, Decimal("0.031"), pools, min_fill=100_00)
    took = time.perf_counter() - started
    filled = len({f.request_id for f in fills})
    return {"requests": requests, "rules": rules, "requests filled": filled,
            "fills": len(fills), "decide, s": took}  # fmt: skip


def fills(store: str, requests: int) -> dict[str, float]:
    with fresh_store(store, "bench_market") as url:
        db = Database(url)
        migrate.upgrade(db)
        clock = ManualClock()
        loop = Loop(db, clock)
        loop.certs.on(date(2026, 11, 2))
        payable = loop.payable("core", "tier1", 900_000_000, "26442000000000000001")
        loop.certs.set_issuance_limit(obligor="core", cur="CNY", limit=10**15, actor=OPS)
        for funder in ("bank", "bank2"):
            loop.certs.grant_credit(funder=funder, obligor="core", cur="CNY", limit=10**15,
                                    expires_on=date(2027, 12, 31), actor=OPS)  # fmt: skip
            loop.certs.deposit(org=funder, cur="CNY", amount=10**14, key=funder, actor=OPS)
        request = IssueRequest("core", "tier1", (payable,), 100_000 * Y, date(2027, 3, 1))
        numbers: list[str] = []
        for _ in range(0, requests, 100):
            numbers += [i.certificate.number
                        for i in loop.certs.issue_many([request] * 100, actor=OPS)]  # fmt: skip
        numbers = numbers[:requests]
        for number in numbers:
            loop.certs.accept(number, by="tier1", actor="tier1")
        roots = [loop.certs.fragments(number)[0].id for number in numbers]
        loop.certs.on(ON)
        market = loop_services(db, loop.ledger, clock=clock).market
        asked = []
        for n, root in enumerate(roots):
            r = market.request_financing(principal=as_("tier1"), fragment_id=root,
                                         amount=60_000 * Y, max_rate=Decimal("0.06"),
                                         expires_on=date(2026, 12, 31), key=f"r{n}")  # fmt: skip
            for funder, rate in (("bank", "0.045"), ("bank2", "0.05")):
                market.quote_request(r.id, principal=as_(funder), rate=Decimal(rate),
                                     amount=40_000 * Y, valid_until=date(2026, 12, 31),
                                     key=f"q{n}{funder}")  # fmt: skip
            asked.append(r.id)
        started = time.perf_counter()
        made = sum(len(market.fill(r, principal=as_("tier1"), key=f"f{r}")) for r in asked)
        took = time.perf_counter() - started
        db.dispose()
    return {"requests": requests, "financings": made, "financings/s": made / took,
            "ms per request (2 fills, one unit of work)": took / requests * 1000}  # fmt: skip


def clearing_executed(store: str, bids: int) -> dict[str, float]:
    """An early-payment clearing run over ``bids`` bids, executed: every cleared bid paid
    through the ledger in the run's one unit of work."""
    with fresh_store(store, "bench_early") as url:
        db = Database(url)
        migrate.upgrade(db)
        clock = ManualClock()
        loop = Loop(db, clock)
        loop.certs.on(date(2026, 11, 2))
        payable = loop.payable("core", "tier1", 900_000_000, "26442000000000000001")
        loop.certs.set_issuance_limit(obligor="core", cur="CNY", limit=10**15, actor=OPS)
        loop.certs.deposit(org="core", cur="CNY", amount=10**14, key="core", actor=OPS)
        request = IssueRequest("core", "tier1", (payable,), 100_000 * Y, date(2027, 3, 1))
        numbers: list[str] = []
        for _ in range(0, bids, 100):
            numbers += [i.certificate.number
                        for i in loop.certs.issue_many([request] * 100, actor=OPS)]  # fmt: skip
        numbers = numbers[:bids]
        for number in numbers:
            loop.certs.accept(number, by="tier1", actor="tier1")
        roots = [loop.certs.fragments(number)[0].id for number in numbers]
        loop.certs.on(ON)
        ep = loop_services(db, loop.ledger, clock=clock).early_payment
        until = date(2026, 12, 31)
        offer = ep.offer(principal=as_("core"), cash=10**13, currency="CNY",
                         hurdle=Decimal("0.03"), expires_on=until, key="o")  # fmt: skip
        rnd = random.Random(3)
        for n, root in enumerate(roots):
            ep.bid(offer.id, principal=as_("tier1"), fragment_id=root, amount=50_000 * Y,
                   apr=Decimal(rnd.randint(300, 900)) / 10_000, key=f"b{n}")  # fmt: skip
        started = time.perf_counter()
        done = ep.clear(offer.id, principal=as_("core"), key="clear")
        took = time.perf_counter() - started
        db.dispose()
    return {"bids": bids, "cleared and paid": len(done.cleared), "run, s": took,
            "financings/s": len(done.cleared) / took}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--quick", action="store_true", help="a small run (the tests use it)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    console.print("[bold]Marketplace benchmark[/]: deciding and filling")
    stores = ["sqlite", "postgresql"] if args.store == "both" else [args.store]
    bids, requests, rules, filled = ((2_000, 500, 100, 50) if args.quick
                                     else (100_000, 10_000, 1_000, 1_000))  # fmt: skip
    results: dict[str, Any] = {"clearing": clearing(bids), "standing": standing(requests, rules)}
    for store in stores:
        results[f"fills, {store}"] = fills(store, filled)
        results[f"clearing run executed, {store}"] = clearing_executed(store, filled * 2)
    for name, figures in results.items():
        table = Table(title=name)
        table.add_column("figure")
        table.add_column("value", justify="right")
        for k, v in figures.items():
            table.add_row(k, f"{v:,.3f}" if isinstance(v, float) else f"{v:,}")
        console.print(table)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
