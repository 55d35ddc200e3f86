"""API benchmark: ``capillary serve`` on SQLite and PostgreSQL, driven over loopback by a
separate load process (``bench/api_load.py``), beside the same operations called
in-process through the services, in the same run, on the same store.

    python bench/api.py                          # both stores, full size
    python bench/api.py --store sqlite --quick   # small

Operations: a balance read (``GET /v1/cash/…``), a certificate list (``GET
/v1/certificates?limit=100``), a transfer (``POST /v1/fragments/{id}/transfers``, each its
own fragment) and a financing acceptance (``POST /v1/financing-offers/{id}/accept``, each
its own offer), at 1, 16 and 64 concurrent clients, bounded in count and in time. The
platform is a production one (wall clock), every write under its own idempotency key,
committed with full durability. The load process and the server share this machine's two
cores.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from datetime import date
from decimal import Decimal
from pathlib import Path

import httpx
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from stores import fresh_store

from capillary.bootstrap import Platform, open_platform
from capillary.domain.access import UserRole
from capillary.domain.parties import Role
from capillary.domain.trade import Delivery, DeliveryLine
from capillary.services.certificates import IssueRequest
from capillary.services.parties import new_organization
from tests.support.documents import an_invoice, an_order

console = Console()
HERE = Path(__file__).resolve().parent
CAPILLARY = shutil.which("capillary", path=str(Path(sys.executable).parent)) or "capillary"
CAST = {
    "ops": ("91310115MA1K4LQP0J", Role.OPERATOR),
    "core": ("91440300MA5F8Q2K1L", Role.CORE),
    "tier1": ("91441900MA4UR6XB4L", Role.SUPPLIER),
    "tier2": ("91440604MA4X3D7T8Y", Role.SUPPLIER),
    "bank": ("91110000100003962Y", Role.FUNDER),
}
FACE = 1_000_00  # each certificate: 1,000.00, passed on or sold whole
MATURITY = date(2027, 6, 30)


def seed(url: str, certificates: int, offers: int) -> tuple[Platform, dict[str, str], list[int],
                                                            list[int]]:  # fmt: skip
    """A production platform with the cast and its keys, ``certificates`` accepted by tier1
    (each one fragment) and ``offers`` of them offered to the bank: fragments to transfer,
    offers to accept."""
    uscc, role = CAST["ops"]
    open_platform(url).admin.init(
        new_organization(code="ops", name="Ops", scheme="uscc", identifier=uscc,
                         roles=frozenset({role})), sandbox=False)  # fmt: skip
    p = open_platform(url)
    ops = p.parties.principal("ops", "bench", user_role=UserRole.ADMIN)
    for code, (uscc, role) in CAST.items():
        if code != "ops":
            p.parties.register(new_organization(code=code, name=code.title(), scheme="uscc",
                                                identifier=uscc, roles=frozenset({role})),
                               principal=ops, key=f"reg-{code}")  # fmt: skip
    who = {c: p.parties.principal(c, "bench", user_role=UserRole.ADMIN) for c in CAST}
    p.parties.relate(buyer="core", supplier="tier1", principal=who["ops"], key="r1")
    p.parties.relate(buyer="tier1", supplier="tier2", principal=who["ops"], key="r2")
    keys = {}
    for code in ("tier1", "bank"):
        made = p.keys.create(principal=who["ops"], org=code, name="bench", scopes="read,write",
                             key=f"k-{code}")  # fmt: skip
        assert made.token is not None
        keys[code] = made.token
    today = p.admin.reading().today
    total = certificates * FACE
    p.trade.create_order(an_order((str(certificates), "1000.00", "0"), order_date=today),
                         principal=who["core"], key="po")  # fmt: skip
    p.trade.record_delivery(Delivery("DN-1", "PO-1", "core", "tier1", today,
                                     (DeliveryLine(1, Decimal(certificates),
                                                   Decimal(certificates), Decimal(0)),)),
                            principal=who["tier1"], key="dn")  # fmt: skip
    invoice = an_invoice((1, str(certificates), "1000.00", "0"), issue_date=today)
    p.trade.receive_invoice(invoice, principal=who["tier1"], key="inv")
    payable = p.trade.confirm_invoice("tier1", None, "26442000000000000001", due_date=MATURITY,
                                      principal=who["core"], key="ok").id  # fmt: skip
    p.credit.set_issuance_limit(principal=who["ops"], obligor="core", cur="CNY", limit=total,
                                key="limit")  # fmt: skip
    p.credit.grant_credit(principal=who["bank"], funder="bank", obligor="core", cur="CNY",
                          limit=total, expires_on=date(2027, 12, 31), key="line")  # fmt: skip
    p.cash.deposit(principal=who["ops"], org="bank", cur="CNY", amount=total, key="cash")
    p.cash.deposit(principal=who["ops"], org="tier1", cur="CNY", amount=10**8, key="cash1")
    request = IssueRequest("core", "tier1", (payable,), FACE, MATURITY)
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task(f"seeding {certificates:,} certificates", total=certificates)
        for start in range(0, certificates, 500):
            size = min(500, certificates - start)
            issued = p.certificates.issue_many([request] * size, principal=who["core"],
                                               key=f"issue-{start}")  # fmt: skip
            for i in issued:
                p.certificates.accept(i.certificate.number, principal=who["tier1"],
                                      key=f"acc-{i.certificate.number}")  # fmt: skip
            progress.advance(task, size)
    fragments = sorted(f.id for f, _ in p.certificates.held("tier1", principal=who["tier1"]))
    to_offer, to_move = fragments[:offers], fragments[offers:]
    offered = [
        p.financing.offer_financing(principal=who["tier1"], fragment_id=f, funder="bank",
                                    amount=FACE, rate=Decimal("0.045"), key=f"o-{f}").id
        for f in to_offer
    ]  # fmt: skip
    return p, keys, to_move, offered


def in_process(p: Platform, fragments: list[int], offers: list[int], n: int) -> dict[str, float]:
    """The operations called through the services, one at a time: ms each."""
    tier1 = p.parties.principal("tier1", "bench")
    bank = p.parties.principal("bank", "bench")
    figures = {}

    def timed(name: str, count: int, one: object) -> None:
        start = time.perf_counter()
        for i in range(count):
            one(i)  # type: ignore[operator]
        figures[name] = (time.perf_counter() - start) / count * 1000

    timed("balance", n, lambda i: p.cash.cash("tier1", "CNY", principal=tier1))
    timed("certificates", max(1, n // 4),
          lambda i: p.certificates.certificates(principal=tier1, limit=100))  # fmt: skip
    timed("transfer", len(fragments),
          lambda i: p.certificates.transfer(
              principal=tier1, fragment_id=fragments[i], recipient="tier2", amount=FACE,
              reference="contract:bench", key=f"in-t-{i}"))  # fmt: skip
    timed(
        "finance",
        len(offers),
        lambda i: p.financing.accept_financing(offers[i], principal=bank, key=f"in-f-{i}"),
    )
    return figures


def serve(url: str, port: int, workers: int) -> subprocess.Popen[str]:
    env = {**os.environ, "CAPILLARY_DATABASE_URL": url, "CAPILLARY_LOG_LEVEL": "WARNING"}
    command = [CAPILLARY, "serve", "--port", str(port), "--workers", str(workers),
               "--log-level", "warning"]  # fmt: skip
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True)  # fmt: skip
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            said = process.stderr.read() if process.stderr else ""
            raise SystemExit(f"capillary serve stopped: {said}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                return process
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise SystemExit("capillary serve did not become ready")


def load(base: str, key: str, op: str, concurrency: int, count: int, seconds: float,
         ids: list[int]) -> dict[str, object]:  # fmt: skip
    done = subprocess.run(
        [sys.executable, str(HERE / "api_load.py"), base.rsplit(":", 1)[1], key, op,
         str(concurrency), str(count),
         str(seconds), *map(str, ids)],
        capture_output=True, text=True, timeout=seconds + 120,
    )  # fmt: skip
    if done.returncode != 0:
        raise SystemExit(f"the load process failed: {done.stderr[-2000:]}")
    figures: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return figures


def run(store: str, quick: bool, workers: int) -> tuple[dict[str, float], list[dict[str, object]]]:
    levels = (1, 4) if quick else (1, 16, 64)
    writes = 20 if quick else 400  # per level and operation
    reads = 100 if quick else 3_000
    seconds = 5.0 if quick else 15.0
    n_in = 20 if quick else 300
    need_moves = n_in + writes * len(levels)
    need_offers = n_in + writes * len(levels)
    with fresh_store(store, "capillary_bench_api") as url:
        p, keys, fragments, offers = seed(url, need_moves + need_offers, need_offers)
        inproc = in_process(p, fragments[:n_in], offers[:n_in], n_in * 4)
        fragments, offers = fragments[n_in:], offers[n_in:]
        p.ledger.db.dispose()
        from tests.api.conftest import free_port

        port = free_port()
        process = serve(url, port, workers)
        base = f"http://127.0.0.1:{port}"
        results = []
        try:
            with console.status(f"[{store}] driving the API…"):
                for op, key, ids in (("balance", keys["tier1"], []),
                                     ("certificates", keys["tier1"], []),
                                     ("transfer", keys["tier1"], fragments),
                                     ("finance", keys["bank"], offers)):  # fmt: skip
                    for i, c in enumerate(levels):
                        chunk = ids[i * writes : (i + 1) * writes] if ids else []
                        count = writes if ids else reads
                        results.append(load(base, key, op, c, count, seconds, chunk))
        finally:
            process.terminate()
            process.wait(30)
    return inproc, results


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--store", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--quick", action="store_true", help="A small run (for the tests).")
    parser.add_argument("--workers", type=int, default=2, help="Server worker processes.")
    parser.add_argument("--json", type=Path, help="Also write the figures here.")
    args = parser.parse_args()
    stores = ["sqlite", "postgresql"] if args.store == "both" else [args.store]
    everything = {}
    for store in stores:
        inproc, results = run(store, args.quick, args.workers)
        everything[store] = {"in_process_ms": inproc, "http": results}
        table = Table(title=f"Capillary API benchmark, {store}, {args.workers} worker(s)",
                      title_justify="left")  # fmt: skip
        for column in ("operation", "clients", "requests", "per s", "p50 ms", "p99 ms",
                       "in-process ms", "HTTP adds (p50, 1 client)", "statuses"):  # fmt: skip
            table.add_column(column, justify="left" if column == "operation" else "right")
        for r in results:
            op = str(r["op"])
            base_ms = inproc[op]
            adds = ""
            if r["concurrency"] == 1 and r["p50_ms"]:
                adds = f"{(float(r['p50_ms']) - base_ms) / base_ms:+.0%}"  # type: ignore[arg-type]
            table.add_row(op, str(r["concurrency"]), str(r["requests"]),
                          f"{float(r['per_s']):,.0f}", f"{r['p50_ms']:.2f}",  # type: ignore[arg-type]
                          f"{r['p99_ms']:.2f}", f"{base_ms:.2f}", adds,
                          json.dumps(r["statuses"]))  # fmt: skip
        console.print(table)
    if args.json:
        args.json.write_text(json.dumps(everything, indent=2))


if __name__ == "__main__":
    main()
