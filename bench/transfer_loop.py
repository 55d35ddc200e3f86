"""One transfer at a time through the service, as a client makes them: a sandbox platform
with N accepted certificates, each passed whole from a supplier to its own supplier, each
its own durable unit of work under its own idempotency key (on a production clock).

    python bench/transfer_loop.py --store sqlite --n 500
    python bench/transfer_loop.py --store postgresql --n 500 --profile   # and where it goes

Prints transfers per second, milliseconds each, and the statements SQLAlchemy built for
each (the hot path's own SQL goes to the driver and is not counted). To compare with an
earlier commit, run it with that commit's tree first on ``PYTHONPATH``."""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
import time
from datetime import date
from decimal import Decimal
from pathlib import Path

from sqlalchemy import event

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from stores import fresh_store

from capillary.adapters.clock import SystemClock
from capillary.bootstrap import open_platform
from capillary.domain.trade import Delivery, DeliveryLine
from capillary.services.certificates import IssueRequest
from tests.api.conftest import seed
from tests.support.documents import an_invoice, an_order


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--store", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--n", type=int, default=500)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    n = args.n
    with fresh_store(args.store, "capillary_bench_transfer") as url:
        seeded, _ = seed(url)
        core, t1 = (seeded.parties.principal(o, "bench") for o in ("core", "tier1"))
        ops = seeded.parties.principal("ops", "bench")
        p = seeded
        p.trade.create_order(an_order(("10", "10000000.00", "0")), principal=core, key="po")
        p.trade.record_delivery(Delivery("DN-1", "PO-1", "core", "tier1", date(2026, 11, 2),
                                         (DeliveryLine(1, Decimal(10), Decimal(10),
                                                       Decimal(0)),)),
                                principal=t1, key="dn")  # fmt: skip
        p.trade.receive_invoice(an_invoice((1, "10", "10000000.00", "0")), principal=t1, key="i")
        payable = p.trade.confirm_invoice("tier1", None, "26442000000000000001",
                                          due_date=date(2027, 3, 1), principal=core,
                                          key="c").id  # fmt: skip
        p.credit.set_issuance_limit(principal=ops, obligor="core", cur="CNY", limit=10**15,
                                    key="l")  # fmt: skip
        request = IssueRequest("core", "tier1", (payable,), 100_000, date(2027, 2, 26))
        for i in p.certificates.issue_many([request] * n, principal=core, key="issue"):
            p.certificates.accept(i.certificate.number, principal=t1, key=i.certificate.number)
        p.ledger.db.dispose()
        p = open_platform(url, clock=SystemClock())
        fragments = [f for f, _ in p.certificates.held("tier1", principal=t1)]
        built = [0]
        event.listen(p.ledger.db.engine, "before_cursor_execute",
                     lambda *a, **k: built.__setitem__(0, built[0] + 1))  # fmt: skip
        profile = cProfile.Profile() if args.profile else None
        start = time.perf_counter()
        if profile:
            profile.enable()
        for f in fragments:
            p.certificates.transfer(principal=t1, fragment_id=f.id, recipient="tier2",
                                    amount=100_000, reference="contract:bench",
                                    key=f"t{f.id}")  # fmt: skip
        elapsed = time.perf_counter() - start
        if profile:
            profile.disable()
            pstats.Stats(profile).sort_stats("tottime").print_stats(25)
        each = elapsed / n * 1000
        print(f"transfer benchmark, {args.store}: {n / elapsed:,.0f} transfers/s, "
              f"{each:.2f} ms each, {built[0] / n:.1f} statements built each")  # fmt: skip
        p.ledger.db.dispose()


if __name__ == "__main__":
    main()
