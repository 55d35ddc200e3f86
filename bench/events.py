"""Events benchmark: what the outbox costs the certificate batch paths, how fast a worker
relays events to a local webhook receiver and to NATS JetStream, and the lag from commit to
delivery under load.

    python bench/events.py                       # both stores
    python bench/events.py --store sqlite --quick

- **Outbox cost**: issue, transfer and finance (a funder accepting offers) in batches of 100
  through the service layer, with the outbox and without it (every event builder and the
  write patched out in this process), batch by batch in turn on one store.
- **Relay**: N transfers' events written first, then one ``capillary worker`` process drains
  them to a receiver in its own process (uvicorn, HTTP/1.1 keep-alive), or to JetStream:
  deliveries (messages) per second.
- **Lag**: transfers committed at a steady rate while the worker relays; each delivery's
  arrival at the receiver less its batch's commit, at p50 and p99.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import replace
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from stores import fresh_store

from capillary.adapters import migrate
from capillary.adapters.clock import ManualClock
from capillary.adapters.database import Database
from capillary.domain.access import UserRole
from capillary.services import certificates, credit, financing, moves, settlement
from capillary.services import trade_invoices as invoices
from capillary.services.certificates import IssueRequest
from capillary.services.moves import Move
from capillary.services.webhooks import WebhookService
from tests.support.acting import as_
from tests.support.loop import OPS, Loop, Y

console = Console()
MATURITY = date(2027, 3, 1)
NATS_URL = os.environ.get("CAPILLARY_BENCH_NATS", "nats://127.0.0.1:4222")

RECEIVER = """
import json, time, sys
arrivals = {}
async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    if scope["method"] == "POST":
        event = json.loads(body)
        arrivals.setdefault(scope["path"] + " " + event["id"], time.time())
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})
        return
    out = json.dumps(arrivals).encode()
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": out})
"""


# ------------------------------------------------------------------ the outbox's cost

_BUILDERS = {
    certificates: ("certificate_event", "emit"),
    moves: ("moved_events", "credit_line_event", "emit"),
    financing: ("offer_event", "emit"),
    credit: ("credit_line_event", "emit"),
    settlement: ("settled_events", "overdue_event", "claim_event", "emit"),
    invoices: ("match_event", "payable_event", "emit"),
}


@contextmanager
def without_outbox() -> Iterator[None]:
    """Every event builder and the outbox's write patched out of the services: the use
    cases as they were before events."""
    saved = {(m, n): getattr(m, n) for m, names in _BUILDERS.items() for n in names}
    for m, n in saved:
        setattr(m, n, lambda *a, **k: [])
    try:
        yield
    finally:
        for (m, n), f in saved.items():
            setattr(m, n, f)


def _loop(url: str) -> tuple[Loop, Database, int]:
    db = Database(url)
    migrate.upgrade(db)
    clock = ManualClock()
    loop = Loop(db, clock)
    loop.certs.on(date(2026, 11, 2))
    payable = loop.payable("core", "tier1", 900_000_000, "26442000000000000001")
    loop.certs.set_issuance_limit(obligor="core", cur="CNY", limit=10**15, actor=OPS)
    loop.certs.grant_credit(funder="bank", obligor="core", cur="CNY", limit=10**15,
                            expires_on=date(2027, 12, 31), actor=OPS)  # fmt: skip
    loop.certs.deposit(org="bank", cur="CNY", amount=10**14, key="bank", actor=OPS)
    return loop, db, payable


def outbox_cost(store: str, batches: int) -> dict[str, dict[str, list[float]]]:
    """Microseconds per operation of each batch of 100, with the outbox and without it,
    batch by batch in turn on one store (so both see the same store as it grows, and the
    machine's drift falls on both alike)."""
    runs: dict[str, dict[str, list[float]]] = {"with": {}, "without": {}}
    with fresh_store(store, "bench_events_cost") as url:
        loop, db, payable = _loop(url)
        service = loop.certs.service
        request = IssueRequest("core", "tier1", (payable,), 100_000 * Y, MATURITY)
        numbers: list[str] = []

        def issue() -> None:
            made = loop.certs.issue_many([request] * 100, actor=OPS)
            numbers.extend(i.certificate.number for i in made)

        each = (batches + 1) * 100  # a first batch of each warms up, unmeasured
        roots = _roots(loop, payable, each * 2)
        transfers = iter(roots[:each])
        offers = iter([
            service.offer_financing(principal=as_("tier1"), fragment_id=f, funder="bank",
                                    amount=10_000 * Y, rate=Decimal("0.045"), key=f"o-{f}").id
            for f in roots[each:]
        ])  # fmt: skip
        ops: dict[str, Callable[[], None]] = {
            "issue": issue,
            "transfer": lambda: _transfer(loop, [next(transfers) for _ in range(100)]),
            "finance": lambda: service.accept_financings(
                [next(offers) for _ in range(100)], principal=as_("bank"), key=str(uuid.uuid4())
            ),
        }
        for name, op in ops.items():
            op()
            for r in range(batches):
                mode = ("with", "without")[(r + r // 2) % 2]  # with, without, without, with…
                started = time.perf_counter()
                with without_outbox() if mode == "without" else nullcontext():
                    op()
                runs[mode].setdefault(name, []).append((time.perf_counter() - started) * 1e4)
        db.dispose()
    return runs


# ------------------------------------------------------------------ relaying


@contextmanager
def receiver_process() -> Iterator[str]:
    """A webhook receiver in its own process (uvicorn): answers 204 and keeps each
    event's first arrival; GET /stats returns them."""
    folder = Path(os.environ.get("TMPDIR", "/tmp")) / f"capillary-bench-{uuid.uuid4().hex[:6]}"
    folder.mkdir()
    (folder / "receiver.py").write_text(RECEIVER)
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "receiver:app", "--port", str(port), "--log-level",
         "warning", "--no-access-log"], cwd=folder,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 15
    while True:
        try:
            httpx.get(f"{base}/stats", timeout=1)
            break
        except httpx.HTTPError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
    try:
        yield base
    finally:
        proc.terminate()
        proc.wait(10)
        shutil.rmtree(folder, ignore_errors=True)


@contextmanager
def worker_process(url: str, env: dict[str, str]) -> Iterator[None]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "capillary", "--db", url, "worker", "--no-jobs", "--poll", "0.02"],
        env={**os.environ, "CAPILLARY_WEBHOOK_ALLOW_PRIVATE": "true", **env},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        yield
    finally:
        proc.terminate()
        proc.wait(30)


def _roots(loop: Loop, payable: int, count: int) -> list[int]:
    certs = loop.certs
    request = IssueRequest("core", "tier1", (payable,), 100_000 * Y, MATURITY)
    numbers: list[str] = []
    for _ in range(0, count, 100):
        numbers += [i.certificate.number for i in certs.issue_many([request] * 100, actor=OPS)]
    for number in numbers:
        certs.accept(number, by="tier1", actor="tier1")
    certs.on(date(2026, 12, 1))
    return [certs.fragments(number)[0].id for number in numbers]


def _transfer(loop: Loop, roots: list[int]) -> None:
    loop.certs.move([Move(r, "tier1", "tier2", 100 * Y, reference="contract:bench")
                     for r in roots], actor="tier1")  # fmt: skip


def _count(db: Database, sql: str) -> int:
    return int(db.transaction(lambda c: c.execute(sa.text(sql)).scalar_one()))


def relay(store: str, transfers: int, rate: int, nats: bool) -> dict[str, Any]:
    """Drain throughput to a receiver (and to JetStream), then the lag under load."""
    out: dict[str, Any] = {}
    with fresh_store(store, "bench_relay") as url, receiver_process() as base:
        loop, db, payable = _loop(url)
        hooks = WebhookService(db, allow_private=True)
        for org in ("core", "tier1", "tier2"):
            admin = replace(as_(org), user_role=UserRole.ADMIN)
            hooks.register(principal=admin, url=f"{base}/{org}", types=["*"], key=f"h-{org}")
        roots = _roots(loop, payable, transfers * 2)
        db.transaction(lambda c: c.execute(sa.text("UPDATE events SET fanned = true, "
                                                   "published_at = 0")))  # fmt: skip
        # Drain: every transfer's events written, then a worker starts.
        for i in range(0, transfers, 100):
            _transfer(loop, roots[i : i + 100])
        events = _count(db, "SELECT count(*) FROM events WHERE NOT fanned")
        stream = {}
        if nats:
            stream = {"CAPILLARY_NATS_URL": NATS_URL,
                      "CAPILLARY_NATS_STREAM": f"BENCH_{uuid.uuid4().hex[:8].upper()}",
                      "CAPILLARY_NATS_PREFIX": f"bench{uuid.uuid4().hex[:6]}.events"}  # fmt: skip
        messages = sum(len(json.loads(r[0])) for r in db.transaction(lambda c: c.execute(
            sa.text("SELECT orgs FROM events WHERE NOT fanned")).all()))  # fmt: skip
        delivered = "SELECT count(*) FROM webhook_deliveries WHERE status = 'delivered'"
        published = "SELECT count(*) FROM events WHERE published_at > 0"
        # Timed from the first delivery (publication) to the last: the worker's start-up
        # (imports, connections) is not relaying.
        marks: dict[str, float] = {}
        start = time.perf_counter()
        with worker_process(url, stream):
            while True:
                time.sleep(0.02)
                now = time.perf_counter()
                done_hooks = _count(db, delivered)
                if done_hooks:
                    marks.setdefault("hooks_first", now)
                if _count(db, "SELECT count(*) FROM events WHERE NOT fanned") == 0 and (
                    done_hooks == _count(db, "SELECT count(*) FROM webhook_deliveries")
                ):
                    marks.setdefault("hooks_done", now)
                if nats:
                    done_stream = _count(db, published)
                    if done_stream:
                        marks.setdefault("stream_first", now)
                    if done_stream == events:
                        marks.setdefault("stream_done", now)
                if "hooks_done" in marks and (not nats or "stream_done" in marks):
                    break
                if now - start > 600:
                    raise RuntimeError("the worker did not drain the outbox in 10 minutes")
            deliveries = _count(db, "SELECT count(*) FROM webhook_deliveries")
            took = max(marks["hooks_done"] - marks["hooks_first"], 0.02)
            out["events"] = events
            out["deliveries"] = deliveries
            out["deliveries/s to the receiver"] = deliveries / took
            out["events/s to the receiver"] = events / took
            if nats:
                took = max(marks["stream_done"] - marks["stream_first"], 0.02)  # a poll at least
                out["events/s to JetStream"] = events / took
                out["messages/s to JetStream"] = messages / took
            # Lag: batches of 10 transfers at a steady rate while the worker relays.
            committed: dict[int, float] = {}
            rest = roots[transfers : transfers * 2]
            interval = 10 / rate
            next_at = time.perf_counter()
            for i in range(0, len(rest), 10):
                before = _count(db, "SELECT coalesce(max(seq), 0) FROM events")
                _transfer(loop, rest[i : i + 10])
                now = time.time()
                after = _count(db, "SELECT coalesce(max(seq), 0) FROM events")
                for seq in range(before + 1, after + 1):
                    committed[seq] = now
                next_at += interval
                time.sleep(max(0.0, next_at - time.perf_counter()))
            deadline = time.monotonic() + 120
            waiting = "SELECT count(*) FROM webhook_deliveries WHERE status <> 'delivered'"
            while _count(db, waiting) or _count(db, "SELECT count(*) FROM events WHERE NOT fanned"):
                if time.monotonic() > deadline:
                    raise RuntimeError("the worker fell behind for two minutes")
                time.sleep(0.05)
        arrivals = httpx.get(f"{base}/stats", timeout=30).json()
        ids = dict(db.transaction(lambda c: c.execute(sa.text("SELECT id, seq FROM events")).all()))
        lags = sorted(
            (at - committed[ids[key.split(" ", 1)[1]]]) * 1000
            for key, at in arrivals.items()
            if ids.get(key.split(" ", 1)[1]) in committed
        )
        out["lag p50 ms"] = statistics.median(lags)
        out["lag p99 ms"] = lags[int(len(lags) * 0.99) - 1]
        out["lag deliveries"] = len(lags)
        out["load, transfers/s"] = rate
        db.dispose()
    if nats:
        asyncio.run(_drop_stream(stream["CAPILLARY_NATS_STREAM"]))
    return out


async def _drop_stream(name: str) -> None:
    import nats

    nc = await nats.connect(NATS_URL)
    try:
        await nc.jetstream().delete_stream(name)
    finally:
        await nc.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--quick", action="store_true", help="a small run (the tests use it)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--no-nats", action="store_true", help="webhooks only")
    args = parser.parse_args()
    stores = ["sqlite", "postgresql"] if args.store == "both" else [args.store]
    batches, transfers, rate = (4, 200, 100) if args.quick else (20, 2_000, 100)
    console.print("[bold]Events benchmark[/]: the outbox's cost, relaying, lag")
    results: dict[str, Any] = {}
    for store in stores:
        console.print(f"[bold]{store}[/]: the outbox's cost, {batches} batches of 100 each")
        runs = outbox_cost(store, batches)
        console.print(f"[bold]{store}[/]: relaying {transfers:,} transfers' events, then "
                      f"{rate} transfers/s under load")  # fmt: skip
        results[store] = {"outbox": runs, "relay": relay(store, transfers, rate,
                                                          not args.no_nats)}  # fmt: skip
    for store, r in results.items():
        table = Table(title=f"The outbox on the batch paths (100 a call), {store}: µs per "
                            "operation, median of batches")  # fmt: skip
        for column in ("operation", "without events", "with events", "cost"):
            table.add_column(column, justify="right")
        for name in r["outbox"]["with"]:
            w = statistics.median(r["outbox"]["with"][name])
            wo = statistics.median(r["outbox"]["without"][name])
            table.add_row(name, f"{wo:,.1f}", f"{w:,.1f}", f"{(w / wo - 1) * 100:+.1f}%")
        console.print(table)
        table = Table(title=f"Relaying, {store}")
        table.add_column("figure")
        table.add_column("value", justify="right")
        for name, value in r["relay"].items():
            table.add_row(name, f"{value:,.1f}" if isinstance(value, float) else f"{value:,}")
        console.print(table)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
