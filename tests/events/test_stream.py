"""The stream on the real NATS JetStream: events published across a worker crash arrive
once per id at a durable consumer, on subjects by organization and type."""

from __future__ import annotations

import asyncio
import json
import signal
import uuid
from typing import Any

import nats
import pytest
import sqlalchemy as sa

from capillary.client import v1
from tests.api.conftest import World
from tests.events.conftest import certificate, worker_process
from tests.support.receiver import wait_until


async def _consume(url: str, stream: str, subject: str, durable: str) -> list[tuple[str, Any]]:
    """Every message on ``subject`` through a durable pull consumer: (message id, body)."""
    nc = await nats.connect(url)
    try:
        js = nc.jetstream()
        sub = await js.pull_subscribe(subject, durable=durable, stream=stream)
        got: list[tuple[str, Any]] = []
        while True:
            try:
                batch = await sub.fetch(200, timeout=1)
            except nats.errors.TimeoutError:
                return got
            for m in batch:
                got.append((m.headers.get("Nats-Msg-Id", ""), json.loads(m.data)))
                await m.ack()
    finally:
        await nc.close()


async def _drop(url: str, stream: str) -> None:
    nc = await nats.connect(url)
    try:
        await nc.jetstream().delete_stream(stream)
    except nats.js.errors.NotFoundError:
        pass
    finally:
        await nc.close()


@pytest.fixture
def stream(nats_url: str) -> Any:
    name = f"TEST_{uuid.uuid4().hex[:10].upper()}"
    prefix = f"test{uuid.uuid4().hex[:8]}.events"
    yield {"CAPILLARY_NATS_URL": nats_url, "CAPILLARY_NATS_STREAM": name,
           "CAPILLARY_NATS_PREFIX": prefix}  # fmt: skip
    asyncio.run(_drop(nats_url, name))


def test_events_published_across_a_worker_crash_arrive_once_per_id(
    world: World, stream: dict[str, str]
) -> None:
    for n in range(1, 6):
        certificate(world, face="100000.00", n=n)
    db = world.services.ledger.db
    count = lambda sql: db.transaction(lambda c: c.execute(sa.text(sql)).scalar_one())  # noqa: E731
    total = count("SELECT count(*) FROM events")
    first = worker_process(world.url, "--no-jobs", env=stream)
    try:
        wait_until(lambda: count("SELECT count(*) FROM events WHERE published_at IS NULL") == 0,
                   what="the first worker's publishing")  # fmt: skip
    finally:
        first.send_signal(signal.SIGKILL)
        first.communicate(timeout=10)
    # A worker that dies after publishing but before recording it leaves its events
    # unpublished in the store: the next one publishes them again. Widen that window to
    # every event, plus some new ones written while no worker ran.
    db.transaction(lambda c: c.execute(sa.text("UPDATE events SET published_at = NULL")))
    certificate(world, face="100000.00", n=6)
    second = worker_process(world.url, "--no-jobs", env=stream)
    try:
        wait_until(lambda: count("SELECT count(*) FROM events WHERE published_at IS NULL") == 0,
                   what="the second worker's publishing")  # fmt: skip
    finally:
        second.terminate()
        _, err = second.communicate(timeout=30)
    assert second.returncode == 0, err.decode()
    assert count("SELECT count(*) FROM events") > total

    url, name, prefix = (stream[k] for k in ("CAPILLARY_NATS_URL", "CAPILLARY_NATS_STREAM",
                                             "CAPILLARY_NATS_PREFIX"))  # fmt: skip
    for org in ("tier1", "core"):
        got = asyncio.run(_consume(url, name, f"{prefix}.{org}.>", f"erp-{org}"))
        ids = [body["id"] for _, body in got]
        assert len(ids) == len(set(ids)), f"{org} got an event twice"
        listed = [e.id for e in world.client(org).run(v1.events(limit=500)).items]
        assert sorted(ids) == sorted(listed)
        assert all(mid == f"{body['id']}:{org}" for mid, body in got)
        assert all(org in body["organizations"] for _, body in got)
    # Subjects by type: a consumer of one type across organizations.
    issued = asyncio.run(_consume(url, name, f"{prefix}.*.certificate.issued", "erp-issued"))
    assert {b["type"] for _, b in issued} == {"certificate.issued"}
    assert len(issued) == 2 * 6  # six certificates, told to the core and to tier1
