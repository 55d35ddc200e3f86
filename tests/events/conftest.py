"""Events end to end: a sandbox platform served on a loopback port (tests/api's world), real
webhook receivers, workers in this process or as their own processes."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any

import pytest

from capillary.client import v1
from capillary.entrypoints.api.schemas.trade import (
    DeliveryIn,
    DeliveryLineIn,
    InvoiceIn,
    InvoiceLineIn,
    OrderIn,
    OrderLineIn,
)
from capillary.entrypoints.worker import Worker, config_from_settings
from tests.api.conftest import START, World, _world
from tests.support.receiver import Receiver

M = v1.money
MATURITY = date(2027, 2, 26)

#: How the tests' platforms and workers are configured: receivers on loopback, retries
#: within a second, answers within two.
ENV = {
    "CAPILLARY_WEBHOOK_ALLOW_PRIVATE": "true",
    "CAPILLARY_WEBHOOK_BACKOFF_FIRST": "0.2",
    "CAPILLARY_WEBHOOK_BACKOFF_CAP": "1",
    "CAPILLARY_WEBHOOK_RETRY_FOR": "600",
    "CAPILLARY_WEBHOOK_TIMEOUT": "2",
}


@pytest.fixture
def world(store_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    yield from _world(store_url)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver().start()
    yield r
    r.stop()


def subscribe(world: World, receiver: Receiver, who: str, types: list[str] | None = None) -> int:
    """``who``'s admin registers an endpoint at ``/<who>`` of the receiver."""
    made = world.client(f"{who}-admin").run(v1.register_webhook(receiver.url(f"/{who}"), types))
    assert made.secret is not None
    receiver.secrets[f"/{who}"] = made.secret
    return made.webhook.id


def admin_keys(world: World, *orgs: str) -> None:
    ops = world.principal("ops")
    for org in orgs:
        made = world.services.keys.create(principal=ops, org=org, name="admin", scopes="admin",
                                          key=f"admin-{org}")  # fmt: skip
        assert made.token is not None
        world.keys[f"{org}-admin"] = made.token


def certificate(world: World, face: str = "1000000.00", n: int = 1) -> tuple[str, int]:
    """Trade between core and tier1, a payable, credit, and a certificate issued to tier1
    and accepted: its number and root fragment id."""
    core, tier1, ops, bank = (world.client(w) for w in ("core", "tier1", "ops", "bank"))
    po, dn, inv = f"PO-{n}", f"DN-{n}", f"2644200000000000{n:04d}"
    core.run(v1.create_order(OrderIn(
        buyer="core", supplier="tier1", number=po, order_date=START,
        lines=[OrderLineIn(line_no=1, item="BRAKE-7", quantity="10", unit_price="100000.00")],
    )))  # fmt: skip
    tier1.run(v1.record_delivery(DeliveryIn(
        supplier="tier1", buyer="core", number=dn, order_number=po, delivered_on=START,
        lines=[DeliveryLineIn(order_line_no=1, quantity="10")],
    )))  # fmt: skip
    core.run(v1.accept_delivery("tier1", dn))
    invoice = tier1.run(v1.send_invoice(InvoiceIn(
        seller="tier1", buyer="core", number=inv, order_number=po, issue_date=START,
        amount="1000000.00", total="1000000.00",
        lines=[InvoiceLineIn(line_no=1, order_line_no=1, quantity="10", unit_price="100000.00",
                             line_amount="1000000.00")],
    )))  # fmt: skip
    payable = core.run(v1.confirm_invoice("tier1", invoice.number, date(2027, 3, 1)))
    if n == 1:
        ops.run(v1.set_issuance_limit("core", M("50000000.00")))
        bank.run(v1.grant_credit("bank", "core", M("2000000.00"), date(2027, 12, 31)))
        ops.run(v1.deposit("bank", M("1000000.00"), "opening wire"))
    issued = core.run(v1.issue("core", "tier1", [payable.id], M(face), MATURITY))
    number = issued.certificate.number
    tier1.run(v1.accept_certificate(number))
    roots = [f for f in tier1.run(v1.fragments()).items if f.certificate == number]
    return number, roots[0].id


@contextmanager
def worker_thread(world: World, **overrides: Any) -> Iterator[Worker]:
    """A worker in this process (its own thread and event loop) until the block ends."""
    config = config_from_settings(**{"poll": 0.05, "jobs": False, **overrides})
    w = Worker(world.services, config)
    ready = threading.Event()
    box: dict[str, Any] = {}

    def run() -> None:
        async def main() -> None:
            box["stop"], box["loop"] = asyncio.Event(), asyncio.get_running_loop()
            ready.set()
            await w.run(box["stop"])

        asyncio.run(main())

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    ready.wait(10)
    try:
        yield w
    finally:
        box["loop"].call_soon_threadsafe(box["stop"].set)
        thread.join(30)


def worker_process(
    url: str, *args: str, env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """``capillary worker`` as its own process, as an operator would run it."""
    return subprocess.Popen(
        [sys.executable, "-m", "capillary", "--db", url, "worker", "--poll", "0.05", *args],
        env={**os.environ, **ENV, **(env or {})},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
