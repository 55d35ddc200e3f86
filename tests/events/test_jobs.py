"""The worker's scheduled jobs on a sandbox platform: the journal sealed, an obligor warned
days before its cash falls short, the settlement run at the start of the business day."""

from __future__ import annotations

from datetime import date

from capillary.client import v1
from tests.api.conftest import World
from tests.events.conftest import admin_keys, certificate, subscribe, worker_thread
from tests.support.receiver import Receiver, wait_until

M = v1.money


def test_the_worker_seals_warns_and_settles_on_the_platform_clock(
    world: World, receiver: Receiver
) -> None:
    admin_keys(world, "core", "tier1")
    subscribe(world, receiver, "core", ["settlement.cash_short", "certificate.settled"])
    subscribe(world, receiver, "tier1", ["*"])
    number, _ = certificate(world)  # matures 2027-02-26; core has no cash
    ops = world.client("ops")
    ops_principal = world.principal("ops")
    books = world.services.books
    assert books.oldest_unsealed_at(principal=ops_principal) is not None

    # Two days before maturity: the core is warned its cash is short, once that day.
    ops.run(v1.advance_clock((date(2027, 2, 24) - date(2026, 11, 2)).days))
    with worker_thread(world, jobs=True):
        wait_until(lambda: receiver.events("/core"), what="the warning")
        wait_until(lambda: books.oldest_unsealed_at(principal=ops_principal) is None,
                   what="the journal sealed")  # fmt: skip
    (warning,) = receiver.events("/core")
    assert warning["type"] == "settlement.cash_short"
    assert warning["data"]["short"] == {"amount": "1000000.00", "currency": "CNY"}
    assert warning["data"]["certificates"] == [number]
    assert warning["data"]["first_due"] == "2027-02-26"
    assert not any(e["type"] == "settlement.cash_short" for e in receiver.events("/tier1"))

    # Cash in, the maturity comes: the day's settlement run pays tier1, and both hear it.
    ops.run(v1.deposit("core", M("1000000.00"), "wire for CP maturity"))
    ops.run(v1.advance_clock(2))
    with worker_thread(world, jobs=True):
        wait_until(lambda: _settled(receiver), what="the settlement")
    settled = [e for e in receiver.events("/tier1") if e["type"] == "certificate.settled"]
    assert [e["data"]["paid"] for e in settled] == [{"amount": "1000000.00", "currency": "CNY"}]
    assert settled[0]["data"]["certificate"]["status"] == "settled"
    to_core = [e for e in receiver.events("/core") if e["type"] == "certificate.settled"]
    assert to_core[0]["data"]["payouts"] == [
        {"holder": "tier1", "amount": {"amount": "1000000.00", "currency": "CNY"}}
    ]
    assert world.client("tier1").run(v1.certificate(number)).certificate.status == "settled"
    # A warning is made at most once a business day, whichever worker runs the job.
    assert [e["type"] for e in receiver.events("/core")].count("settlement.cash_short") == 1


def _settled(receiver: Receiver) -> bool:
    return any(e["type"] == "certificate.settled" for e in receiver.events("/tier1"))
