"""Webhooks against a real receiver on a loopback port: signed, retried, logged, replayed,
and at least once across a worker killed mid-delivery."""

from __future__ import annotations

import signal
import socket
import threading
import time
from datetime import date

import pytest

from capillary.client import ApiError, v1
from capillary.domain.webhooks import RetryPolicy
from capillary.entrypoints.api.schemas.loop import CertificateOut, FragmentOut
from tests.api.conftest import World
from tests.events.conftest import admin_keys, certificate, subscribe, worker_process, worker_thread
from tests.support.receiver import Receiver, wait_until


def _concerning(world: World, who: str) -> list[str]:
    """Ids of every event that concerns ``who``, read back through the API."""
    ids, cursor = [], None
    while True:
        page = world.client(who).run(v1.events(cursor=cursor, limit=500))
        ids += [e.id for e in page.items]
        if page.next is None:
            return ids
        cursor = page.next


def test_a_receiver_answering_500_then_200_gets_the_event_on_retry(
    world: World, receiver: Receiver
) -> None:
    admin_keys(world, "tier1")
    hook = subscribe(world, receiver, "tier1", ["certificate.issued", "certificate.accepted"])
    receiver.fail_first = 1
    number, _ = certificate(world)
    with worker_thread(world):
        wait_until(lambda: len(receiver.events("/tier1")) == 2, what="both events")
    issued, accepted = receiver.events("/tier1")
    assert (issued["type"], accepted["type"]) == ("certificate.issued", "certificate.accepted")
    assert all(r.signed for r in receiver.received)
    # The payload is the API's own shape, and what the API answers for it.
    assert CertificateOut.model_validate(accepted["data"]["certificate"]).number == number
    assert FragmentOut.model_validate(accepted["data"]["fragment"]).holder == "tier1"
    assert accepted["data"]["certificate"] == world.client("tier1").run(
        v1.certificate(number)).certificate.model_dump(mode="json")  # fmt: skip
    log = world.client("tier1").run(v1.deliveries(hook)).items
    assert [(d.event_type, d.status, d.attempts, d.last_status) for d in log] == [
        ("certificate.accepted", "delivered", 2, 200),
        ("certificate.issued", "delivered", 2, 200),
    ]
    detail = world.client("tier1").run(v1.delivery(log[0].id))
    assert [a.status for a in detail.attempts] == [500, 200]
    assert detail.attempts[0].error == "answered 500"
    # Another organization's log does not exist for it.
    for who in ("tier2", "bank"):
        with pytest.raises(ApiError) as refused:
            world.client(who).run(v1.deliveries(hook))
        assert refused.value.status == 404


def test_a_delivery_that_keeps_failing_is_marked_failed_then_replayed_by_hand(
    world: World, receiver: Receiver
) -> None:
    admin_keys(world, "core")
    hook = subscribe(world, receiver, "core", ["credit_line.granted"])
    world.services.relay.policy = RetryPolicy(retry_for_us=600_000, first_us=100_000,
                                              cap_us=200_000)  # fmt: skip
    receiver.always_fail = True
    world.client("bank").run(v1.grant_credit("bank", "core", v1.money("100.00"),
                                             date(2027, 12, 31)))  # fmt: skip
    admin = world.client("core-admin")
    with worker_thread(world):
        wait_until(lambda: admin.run(v1.deliveries(hook, status="failed")).items, what="failure")
        (failed,) = admin.run(v1.deliveries(hook)).items
        assert failed.status == "failed"
        assert failed.attempts >= 2
        assert receiver.events("/core") == []
        receiver.always_fail = False
        # Tier1 may not replay core's endpoint; core's write key (no admin) may not either.
        for who, status in (("tier1", 404), ("core", 403)):
            with pytest.raises(ApiError) as refused:
                world.client(who).run(v1.replay(hook))
            assert refused.value.status == status
        assert admin.run(v1.replay(hook)).replayed == 1
        wait_until(lambda: len(receiver.events("/core")) == 1, what="the replayed delivery")
    (event,) = receiver.events("/core")
    assert event["type"] == "credit_line.granted"
    assert event["data"]["credit_line"]["limit"] == {"amount": "100.00", "currency": "CNY"}
    assert admin.run(v1.deliveries(hook)).items[0].status == "delivered"


def test_every_event_arrives_across_a_worker_killed_mid_delivery(
    world: World, receiver: Receiver
) -> None:
    admin_keys(world, "tier1", "core")
    subscribe(world, receiver, "tier1")
    subscribe(world, receiver, "core")
    for n in range(1, 9):
        certificate(world, face="100000.00", n=n)
    expected = {
        "/tier1": set(_concerning(world, "tier1")),
        "/core": set(_concerning(world, "core")),
    }
    assert len(expected["/tier1"]) >= 30
    receiver.delay = 0.1  # a slow receiver: the worker is mid-delivery when it dies
    first = worker_process(world.url, "--no-jobs")
    try:
        wait_until(lambda: len(receiver.received) >= 10, what="the first deliveries")
    finally:
        first.send_signal(signal.SIGKILL)
        first.communicate(timeout=10)
    at_kill = len(receiver.received)
    assert at_kill < sum(len(v) for v in expected.values()), "nothing was left to deliver"
    second = worker_process(world.url, "--no-jobs")
    try:
        wait_until(
            lambda: all(set(receiver.processed.get(p, [])) == ids for p, ids in expected.items()),
            timeout=60, what="every event",
        )  # fmt: skip
    finally:
        second.terminate()
        _, err = second.communicate(timeout=30)
    assert second.returncode == 0, err.decode()
    assert all(r.signed for r in receiver.received)
    for path, ids in expected.items():
        processed = receiver.processed[path]
        assert len(processed) == len(set(processed)) == len(ids)  # exactly once by id
    # Repeats are what the dead worker had in flight, nothing more.
    repeats = len(receiver.received) - sum(len(ids) for ids in expected.values())
    assert 0 <= repeats <= 64


def test_two_workers_at_once_deliver_each_event_once(world: World, receiver: Receiver) -> None:
    admin_keys(world, "tier1", "core")
    subscribe(world, receiver, "tier1")
    subscribe(world, receiver, "core")
    for n in range(1, 7):
        certificate(world, face="100000.00", n=n)
    expected = {
        "/tier1": set(_concerning(world, "tier1")),
        "/core": set(_concerning(world, "core")),
    }
    receiver.delay = 0.02
    with worker_thread(world), worker_thread(world):
        wait_until(
            lambda: all(set(receiver.processed.get(p, [])) == ids for p, ids in expected.items()),
            timeout=60, what="every event",
        )  # fmt: skip
    # Not one repeat: no delivery was claimed by both.
    assert sorted(receiver.attempts.values()) == [1] * sum(len(i) for i in expected.values())


def test_a_slow_receiver_delays_neither_other_endpoints_nor_writes(
    world: World, receiver: Receiver
) -> None:
    admin_keys(world, "tier1", "core")
    subscribe(world, receiver, "tier1")
    subscribe(world, receiver, "core")
    for n in range(1, 4):
        certificate(world, face="100000.00", n=n)
    fast = set(_concerning(world, "core"))
    slow = set(_concerning(world, "tier1"))
    receiver.delays["/tier1"] = 1.5  # within the 2 s timeout: slow, not dead
    with worker_thread(world):
        wait_until(lambda: set(receiver.processed.get("/core", [])) == fast, timeout=20,
                   what="the fast endpoint's events")  # fmt: skip
        behind = len(slow) - len(receiver.processed.get("/tier1", []))
        started = time.perf_counter()
        certificate(world, face="100000.00", n=4)  # writes go on meanwhile
        took = time.perf_counter() - started
    assert behind >= len(slow) // 2, "the slow endpoint should still have been busy"
    assert took < 5.0


class _Hostile:
    """A receiver that misbehaves at the socket: ``trickle`` sends its status line a byte a
    second; otherwise it answers 200 with a body that never ends."""

    def __init__(self, trickle: bool) -> None:
        self.trickle = trickle
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.requests = 0
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    def _answer(self, conn: socket.socket) -> None:
        with conn:
            try:
                conn.recv(65536)
                self.requests += 1
                if self.trickle:
                    for byte in b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n":
                        conn.sendall(bytes([byte]))
                        time.sleep(1)
                else:
                    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 10000000000\r\n\r\n")
                    for _ in range(200):
                        conn.sendall(b"\0" * 65536)
            except OSError:
                pass

    def close(self) -> None:
        self.server.close()


def test_a_receiver_that_trickles_or_floods_its_answer_cannot_hold_the_worker(
    world: World,
) -> None:
    admin_keys(world, "tier1", "core")
    trickler, flooder = _Hostile(trickle=True), _Hostile(trickle=False)
    admin = world.client("tier1-admin")
    slow = admin.run(v1.register_webhook(f"http://127.0.0.1:{trickler.port}/t",
                                         ["certificate.issued"])).webhook.id  # fmt: skip
    flood = world.client("core-admin").run(v1.register_webhook(
        f"http://127.0.0.1:{flooder.port}/f", ["certificate.issued"])).webhook.id  # fmt: skip
    try:
        certificate(world)
        with worker_thread(world):
            # The flood's status is read, its body never: delivered at once.
            wait_until(lambda: world.client("core-admin").run(v1.deliveries(flood)).items
                       and world.client("core-admin").run(v1.deliveries(flood)).items[0].status
                       == "delivered", timeout=20, what="the flooded delivery")  # fmt: skip
            # The trickle is cut at the timeout (2 s) however steadily it sends.
            wait_until(lambda: (admin.run(v1.deliveries(slow)).items or [None])[0] is not None
                       and admin.run(v1.deliveries(slow)).items[0].attempts >= 1, timeout=20,
                       what="the trickled attempt")  # fmt: skip
        (attempt,) = admin.run(v1.delivery(admin.run(v1.deliveries(slow)).items[0].id)).attempts[:1]
        assert attempt.error == "no answer within the timeout"
        assert attempt.latency_us < 3_000_000
    finally:
        trickler.close()
        flooder.close()
