"""Certificate benchmark: operations through the service layer, and settlement at scale.

    python bench/certificates.py                          # both stores, full size
    python bench/certificates.py --store sqlite --certificates 100 --split 10   # small

Operations: issue (and accept), transfer, offer and finance (the funder accepting the
holder's offer), one per call as a client makes them
(each its own database transaction, committed with full durability), and the same in
batches of 100 (one unit of work and one ledger submission per batch, each operation still
its own ledger posting). Settlement: N
certificates each split K ways among ten holders -- the fragments and ledger holdings are
seeded in bulk (a million one-by-one transfers would take the better part of an hour), then
``settle`` pays them all through the service, as the settlement run does.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from datetime import date
from decimal import Decimal
from pathlib import Path

from rich.console import Console
from rich.progress import Progress
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from stores import fresh_store

from capillary.adapters import certificate_repository as cert_repo
from capillary.adapters import migrate
from capillary.adapters.clock import ManualClock
from capillary.adapters.database import Database
from capillary.adapters.reconciliation_queries import load_books
from capillary.domain.certificates import FragmentStatus
from capillary.domain.ledger import Leg, Side, make_request
from capillary.domain.reconciliation import reconcile
from capillary.services.certificates import IssueRequest
from capillary.services.moves import Move
from tests.support.acting import as_
from tests.support.loop import OPS, Loop, Y

console = Console()
MATURITY = date(2027, 3, 1)
HOLDERS = 10


def operations(loop: Loop, n: int) -> dict[str, float]:
    certs = loop.certs
    payable = loop.payable("core", "tier1", 900_000_000, "26442000000000000001")
    certs.set_issuance_limit(obligor="core", cur="CNY", limit=10**15, actor=OPS)
    certs.grant_credit(
        funder="bank",
        obligor="core",
        cur="CNY",
        limit=10**15,
        expires_on=date(2027, 12, 31),
        actor=OPS,
    )
    certs.deposit(org="bank", cur="CNY", amount=10**14, key="bank", actor=OPS)
    figures = {}
    start = time.perf_counter()
    numbers = []
    for _ in range(n):
        numbers.append(
            certs.issue(
                obligor="core",
                holder="tier1",
                payable_ids=[payable],
                face=100_000 * Y,
                maturity=MATURITY,
                issue_date=date(2026, 11, 2),
                actor=OPS,
            ).certificate.number
        )
    figures["issue/s"] = n / (time.perf_counter() - start)
    start = time.perf_counter()
    for number in numbers:
        certs.accept(number, by="tier1", actor="tier1")
    figures["accept/s"] = n / (time.perf_counter() - start)
    roots = [certs.fragments(number)[0].id for number in numbers]
    certs.on(date(2026, 12, 1))
    start = time.perf_counter()
    change = []
    for r in roots:
        made = certs.transfer(
            fragment_id=r,
            sender="tier1",
            recipient="tier2",
            amount=10_000 * Y,
            reference="contract:bench",
            on=date(2026, 12, 1),
            actor="tier1",
        )
        change.append(made[1].id)
    figures["transfer/s"] = n / (time.perf_counter() - start)
    # A financing is agreed by both sides: the holder offers, the funder accepts (the
    # fragment and the cash move then); each is its own call.
    start = time.perf_counter()
    offers = [
        certs.service.offer_financing(
            principal=as_("tier1"), fragment_id=f, funder="bank", amount=10_000 * Y,
            rate=Decimal("0.045"), key=f"single-offer-{f}",
        ).id
        for f in change
    ]  # fmt: skip
    figures["offer/s"] = n / (time.perf_counter() - start)
    start = time.perf_counter()
    for o in offers:
        certs.service.accept_financing(o, principal=as_("bank"), key=f"single-take-{o}")
    figures["finance (accept an offer)/s"] = n / (time.perf_counter() - start)
    figures.update(batched(loop, payable, n))
    return figures


def batched(loop: Loop, payable: int, n: int, size: int = 100) -> dict[str, float]:
    """The same operations, ``size`` to a call (one unit of work, one ledger submission)."""
    certs = loop.certs
    certs.on(date(2026, 11, 2))
    request = IssueRequest("core", "tier1", (payable,), 100_000 * Y, MATURITY)
    start = time.perf_counter()
    numbers = []
    for _ in range(0, n, size):
        numbers += [i.certificate.number for i in certs.issue_many([request] * size, actor=OPS)]
    figures = {f"issue/s, batches of {size}": len(numbers) / (time.perf_counter() - start)}
    for number in numbers:
        certs.accept(number, by="tier1", actor="tier1")
    roots = [certs.fragments(number)[0].id for number in numbers]
    certs.on(date(2026, 12, 1))
    start = time.perf_counter()
    change = []
    for i in range(0, len(roots), size):
        moves = [
            Move(r, "tier1", "tier2", 10_000 * Y, reference="contract:bench")
            for r in roots[i : i + size]
        ]
        change += [m.fragments[1].id for m in certs.move(moves, actor="tier1")]
    figures[f"transfer/s, batches of {size}"] = len(roots) / (time.perf_counter() - start)
    # A financing is agreed by both sides: the holder's offers (one per call), then the
    # funder accepts them in batches (the fragments and the cash move then).
    offers = [
        certs.service.offer_financing(
            principal=as_("tier1"), fragment_id=f, funder="bank", amount=10_000 * Y,
            rate=Decimal("0.045"), key=f"offer-{f}",
        ).id
        for f in change
    ]  # fmt: skip
    start = time.perf_counter()
    for i in range(0, len(offers), size):
        certs.service.accept_financings(
            offers[i : i + size], principal=as_("bank"), key=f"take-{i}"
        )
    figures[f"finance/s, batches of {size}"] = len(change) / (time.perf_counter() - start)
    return figures


def seed(loop: Loop, db: Database, certificates: int, split: int) -> None:
    """``certificates`` active certificates, each split ``split`` ways among ten holders."""
    certs = loop.certs
    holders = [f"holder-{h:02d}" for h in range(HOLDERS)]
    from stdnum.cn import uscc

    from capillary.domain.parties import Role
    from capillary.services.parties import new_organization

    for h, code in enumerate(holders):
        base = f"9131000{h:010d}"
        loop.parties.register(
            new_organization(
                code=code,
                name=code,
                scheme="uscc",
                identifier=base + uscc.calc_check_digit(base),
                roles=frozenset({Role.SUPPLIER}),
            ),
            actor=OPS,
        )
        certs.deposit(org=code, cur="CNY", amount=1, key=f"open-{code}", actor=OPS)
    face = split * 1_000 * Y
    payable = loop.payable(
        "core", "tier1", certificates * split * 1_000 + 1, "26442000000000000009"
    )
    certs.set_issuance_limit(obligor="core", cur="CNY", limit=10**15, actor=OPS)
    certs.deposit(org="core", cur="CNY", amount=certificates * face, key="core", actor=OPS)
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task(f"issuing {certificates:,} certificates", total=certificates)
        numbers = []
        for _ in range(certificates):
            done = certs.issue(
                obligor="core",
                holder="tier1",
                payable_ids=[payable],
                face=face,
                maturity=MATURITY,
                issue_date=date(2026, 11, 2),
                actor=OPS,
            )
            certs.accept(done.certificate.number, by="tier1", actor="tier1")
            numbers.append(done.certificate.number)
            progress.advance(task)
        task = progress.add_task(f"splitting each {split} ways", total=certificates)
        for start in range(0, certificates, 100):
            batch = numbers[start : start + 100]

            def work(conn, batch=batch):  # type: ignore[no-untyped-def]
                requests = []
                for number in batch:
                    cert, _ = cert_repo.certificate(conn, number=number)  # type: ignore[misc]
                    (root,) = cert_repo.fragments_of(conn, [cert.id])
                    assert cert_repo.spend(conn, root.id)
                    ids = cert_repo.next_fragment_ids(conn, split)
                    cert_repo.insert_fragments(
                        conn,
                        [
                            replace(
                                root,
                                id=i,
                                parent_id=root.id,
                                holder=holders[k % HOLDERS],
                                amount=face // split,
                                tier=2,
                                path=f"{root.path}/{i}",
                                status=FragmentStatus.ACTIVE,
                            )
                            for k, i in enumerate(ids)
                        ],
                        0,
                    )
                    per_holder = face // HOLDERS
                    legs = [Leg(certs._held(conn, "tier1", cert), Side.CREDIT, face)]
                    legs += [
                        Leg(certs._held(conn, h, cert), Side.DEBIT, per_holder) for h in holders
                    ]
                    requests.append(make_request(key=f"seed:{number}", legs=legs))
                loop.ledger.submit_in(conn, requests)

            db.transaction(work)
            progress.advance(task, len(batch))


def run(store: str, ops: int, certificates: int, split: int) -> dict[str, float]:
    with fresh_store(store, "capillary_bench_certs") as url:
        db = Database(url)
        migrate.upgrade(db)
        figures = operations(Loop(db, ManualClock()), ops)
        db.dispose()
    with fresh_store(store, "capillary_bench_certs") as url:
        db = Database(url)
        migrate.upgrade(db)
        loop = Loop(db, ManualClock())
        seed(loop, db, certificates, split)
        start = time.perf_counter()
        with console.status(f"[{store}] settling {certificates * split:,} fragments…"):
            result = loop.certs.settle(on=MATURITY, actor=OPS)
        elapsed = time.perf_counter() - start
        assert not result.overdue
        assert result.fragments == certificates * split
        figures[f"settle {certificates * split:,} fragments, s"] = elapsed
        figures["settled fragments/s"] = result.fragments / elapsed
        postings = db.transaction(
            lambda c: c.exec_driver_sql("SELECT count(*) FROM postings").scalar_one(),
            readonly=True,
        )
        figures["postings in the store"] = postings
        start = time.perf_counter()
        with console.status(f"[{store}] reconciling…"):
            books, currency_of = db.transaction(load_books, readonly=True)
            assert reconcile(books, currency_of) == []
        figures["reconcile (fragments, holdings, credit, payables, cash), s"] = (
            time.perf_counter() - start
        )
        start = time.perf_counter()
        with console.status(f"[{store}] recomputing balances from postings…"):
            assert loop.ledger.check_balances() == []
        figures["recompute every balance from postings, s"] = time.perf_counter() - start
        db.dispose()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--store", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--ops", type=int, default=1_000)
    parser.add_argument("--certificates", type=int, default=10_000)
    parser.add_argument("--split", type=int, default=100)
    args = parser.parse_args()
    stores = ["sqlite", "postgresql"] if args.store == "both" else [args.store]
    results = {s: run(s, args.ops, args.certificates, args.split) for s in stores}
    table = Table(title="Capillary certificate benchmark", title_justify="left")
    table.add_column("figure")
    for s in stores:
        table.add_column(s, justify="right")
    for name in results[stores[0]]:
        table.add_row(
            name,
            *(
                f"{results[s][name]:,.1f}" if results[s][name] < 100 else f"{results[s][name]:,.0f}"
                for s in stores
            ),
        )
    console.print(table)


if __name__ == "__main__":
    main()
