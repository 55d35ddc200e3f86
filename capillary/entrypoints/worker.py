"""The worker: relays the outbox to webhooks and to the NATS JetStream stream, and runs the
platform's scheduled jobs (sealing the journal, expiring holds, the settlement run at the
start of each business day, warning obligors whose cash is short).

Several workers may run at once. Deliveries are claimed under a lease (``FOR UPDATE SKIP
LOCKED`` on PostgreSQL, the write lock on SQLite), so none is sent by two at a time; a
worker that dies leaves its claims to expire, and another sends them again (at least once:
receivers deduplicate by event id). The stream and the jobs are each held by one worker at
a time under a lease it renews. One asyncio loop per worker: receivers are awaited
concurrently, with a timeout each and a cap per endpoint, so a slow or dead one delays no
other; the store is reached from a thread, never while a receiver is awaited.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx
import structlog

from capillary.adapters import webhook_sender
from capillary.adapters.nats_stream import Stream, message_id
from capillary.adapters.webhook_repository import Due
from capillary.bootstrap import Platform
from capillary.config import Settings
from capillary.domain.access import UserRole
from capillary.domain.errors import CapillaryError
from capillary.services.relay import Relay, Sent, envelope_body, stored_body

T = TypeVar("T")
_BATCH_WINDOW = 0.02  # seconds: deliveries that finish within it are recorded in one write
log = structlog.get_logger("capillary.worker")


@dataclass(frozen=True)
class WorkerConfig:
    name: str = ""
    poll: float = 0.1  # seconds between looks at an idle outbox
    max_in_flight: int = 64
    per_endpoint: int = 8  # deliveries in flight to one endpoint, at most
    timeout: float = 10.0
    allow_private: bool = False
    nats_url: str | None = None
    nats_stream: str = "CAPILLARY"
    nats_prefix: str = "capillary.events"
    seal_every: float = 5.0
    expire_holds_every: float = 5.0
    standing_every: float = 30.0
    cash_short_days: int = 3
    jobs: bool = True  # run the scheduled jobs (when this worker holds their lease)

    @property
    def lease_for_us(self) -> int:
        """A claim outlives the longest attempt, with room to record it."""
        return int((self.timeout * 2 + 5) * 1_000_000)

    def named(self) -> WorkerConfig:
        if self.name:
            return self
        name = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        return WorkerConfig(**{**self.__dict__, "name": name})


class Worker:
    def __init__(self, platform: Platform, config: WorkerConfig) -> None:
        self.platform = platform
        self.relay: Relay = platform.relay
        self.config = config.named()
        self.delivered = 0
        self.published = 0

    async def _db(self, call: Callable[..., T], *args: Any) -> T:
        return await asyncio.to_thread(call, *args)

    async def run(self, stop: asyncio.Event) -> None:
        """Until ``stop`` is set: every part in its own task; one that fails is logged and
        started again after a pause (the store or the server may come back)."""
        parts = [self._webhooks]
        if self.config.nats_url:
            parts.append(self._stream)
        if self.config.jobs:
            parts.append(self._jobs)
        log.info("worker_started", worker=self.config.name, stream=bool(self.config.nats_url))
        await asyncio.gather(*(self._keep(part, stop) for part in parts))

    async def _keep(self, part: Callable[[asyncio.Event], Any], stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await part(stop)
            except Exception as exc:
                log.error("worker_part_failed", part=part.__name__, error=str(exc)[:300])
                await _sleep(stop, 2.0)

    # ------------------------------------------------------------------ webhooks

    async def _webhooks(self, stop: asyncio.Event) -> None:
        in_flight: dict[int, int] = defaultdict(int)
        tasks: set[asyncio.Task[Sent]] = set()
        done: list[Sent] = []
        # A connection pool per endpoint (kept alive between deliveries): one shared pool
        # slows every request down as more are in flight.
        async with _Clients(self.config) as clients:
            try:
                while not stop.is_set():
                    fanned = await self._db(self.relay.fan_out)
                    room = self.config.max_in_flight - len(tasks)
                    claimed: list[Due] = []
                    # Claim when a quarter of the room is free (or nothing is in flight):
                    # each claim is a write, so not for every slot that frees up.
                    if room >= max(1, self.config.max_in_flight // 4) or not tasks:
                        full = [e for e, n in in_flight.items() if n >= self.config.per_endpoint]
                        claimed = await self._db(
                            self.relay.claim, room, self.config.lease_for_us, full
                        )
                    for due in claimed:
                        in_flight[due.endpoint_id] += 1
                        task = asyncio.create_task(self._send(clients.of(due), due))
                        tasks.add(task)
                    if tasks:
                        # What finishes within a short window is recorded together (one
                        # write); a slow receiver holds nothing up beyond the window.
                        finished, _ = await asyncio.wait(tasks, timeout=_BATCH_WINDOW)
                        for task in finished:
                            tasks.discard(task)
                            sent = task.result()
                            in_flight[sent.due.endpoint_id] -= 1
                            done.append(sent)
                    elif not claimed and not fanned:
                        await _sleep(stop, self.config.poll)
                    if done:
                        await self._db(self.relay.record, list(done))
                        self.delivered += sum(1 for s in done if s.error is None)
                        done.clear()
            finally:
                # Stopping: what is in flight finishes (each within its timeout) and is
                # recorded, so nothing is sent again needlessly.
                if tasks:
                    finished, _ = await asyncio.wait(tasks)
                    done += [t.result() for t in finished]
                if done:
                    await self._db(self.relay.record, list(done))

    async def _send(self, client: httpx.AsyncClient, due: Due) -> Sent:
        body = envelope_body(due.event)
        answer = await webhook_sender.send(
            client, due.url, body, secret=due.secret, event_id=due.event[0],
            event_type=due.event[1], delivery_id=due.id, allow_private=self.config.allow_private,
            timeout=self.config.timeout,
        )  # fmt: skip
        if answer.error is not None:
            log.info("webhook_attempt_failed", delivery=due.id, endpoint=due.endpoint_id,
                     error=answer.error)  # fmt: skip
        return Sent(due, time.time_ns() // 1_000, answer.status, answer.latency_us, answer.error)

    # ------------------------------------------------------------------ the stream

    async def _stream(self, stop: asyncio.Event) -> None:
        assert self.config.nats_url
        stream = await Stream.connect(
            self.config.nats_url, self.config.nats_stream, self.config.nats_prefix
        )
        lease = _Lease(self.relay, "stream", self.config.name)
        try:
            while not stop.is_set():
                if not await lease.held():
                    await _sleep(stop, 1.0)
                    continue
                events = await self._db(self.relay.unpublished, 500)
                if not events:
                    await _sleep(stop, self.config.poll)
                    continue
                messages = [
                    (stream.subject(org, e.type),
                     stored_body(e),
                     message_id(e.id, org))
                    for e in events
                    for org in e.orgs
                ]  # fmt: skip
                await stream.publish(messages)
                await self._db(self.relay.mark_published, [e.seq for e in events])
                self.published += len(events)
        finally:
            await lease.release()
            await stream.close()

    # ------------------------------------------------------------------ jobs

    async def _jobs(self, stop: asyncio.Event) -> None:
        last: dict[str, float] = {}
        lease = _Lease(self.relay, "jobs", self.config.name)
        try:
            while not stop.is_set():
                if await lease.held():
                    operator = await self._db(self.platform.admin.operator)
                    if operator is not None:
                        await self._db(self._run_jobs, operator, last)
                await _sleep(stop, 1.0)
        finally:
            await lease.release()

    def _run_jobs(self, operator: str, last: dict[str, float]) -> None:
        p = self.platform
        principal = p.parties.principal(operator, "worker", user_role=UserRole.ADMIN)
        now = time.monotonic()

        def every(name: str, seconds: float, job: Callable[[], Any]) -> None:
            if now - last.get(name, -1e9) < seconds:
                return
            last[name] = now
            try:
                job()
            except CapillaryError as exc:
                log.warning("job_refused", job=name, code=exc.code, detail=exc.message)

        every("seal", self.config.seal_every, lambda: p.books.seal(principal=principal))
        every("expire_holds", self.config.expire_holds_every,
              lambda: p.books.expire_holds(principal=principal))  # fmt: skip
        every("market_standing", self.config.standing_every,
              lambda: p.standing.run_standing(principal=principal))  # fmt: skip
        today = p.settlement.today()
        if not p.settlement.calendar().is_business_day(today):
            return
        day = today.isoformat()

        def daily(name: str, job: Callable[[], Any]) -> None:
            """Once a business day, at its start (or when a worker first runs that day)."""
            if self.relay.last_run(name) == day:
                return
            try:
                log.info(name, on=day, **job())
            except CapillaryError as exc:
                log.warning("job_refused", job=name, code=exc.code, detail=exc.message)
            self.relay.set_last_run(name, day)

        def settle() -> dict[str, int]:
            run = p.settlement.settle(principal=principal, key=f"worker-settlement-{day}")
            return {"settled": len(run.settled), "overdue": len(run.overdue),
                    "failed": len(run.failed)}  # fmt: skip

        daily("settlement", settle)

        def expire_market() -> dict[str, int]:
            requests, quotes = p.market.expire(principal=principal)
            return {"requests": requests, "quotes": quotes}

        daily("market_expiry", expire_market)
        daily("cash_short", lambda: {"warned": self.relay.warn_cash_short(
            self.config.cash_short_days)})  # fmt: skip
        daily("risk_alerts", lambda: {"raised": p.risk.monitor(
            principal=principal, key=f"worker-risk-alerts-{day}")})  # fmt: skip


class _Clients:
    """An HTTP client per endpoint, each with at most ``per_endpoint`` connections."""

    def __init__(self, config: WorkerConfig) -> None:
        self.config = config
        self.clients: dict[int, httpx.AsyncClient] = {}

    def of(self, due: Due) -> httpx.AsyncClient:
        client = self.clients.get(due.endpoint_id)
        if client is None:
            limits = httpx.Limits(max_connections=self.config.per_endpoint,
                                  max_keepalive_connections=self.config.per_endpoint)  # fmt: skip
            client = self.clients[due.endpoint_id] = httpx.AsyncClient(
                timeout=self.config.timeout, follow_redirects=False, limits=limits
            )
        return client

    async def __aenter__(self) -> _Clients:
        return self

    async def __aexit__(self, *_: object) -> None:
        for client in self.clients.values():
            await client.aclose()


class _Lease:
    """A job's lease: taken for ``LEASE`` seconds, renewed once half of it has passed (not
    on every turn: each renewal is a write). A worker that dies holds it until it runs out,
    then another takes over."""

    LEASE = 10.0

    def __init__(self, relay: Relay, name: str, holder: str) -> None:
        self.relay, self.name, self.holder = relay, name, holder
        self.until = 0.0

    async def held(self) -> bool:
        now = time.monotonic()
        if now < self.until - self.LEASE / 2:
            return True
        taken = await asyncio.to_thread(
            self.relay.take_lease, self.name, self.holder, int(self.LEASE * 1_000_000)
        )
        self.until = now + self.LEASE if taken else 0.0
        return taken

    async def release(self) -> None:
        if self.until:
            await asyncio.to_thread(self.relay.release_lease, self.name, self.holder)


async def _sleep(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)


def config_from_settings(**overrides: Any) -> WorkerConfig:
    """The worker's configuration from ``CAPILLARY_*`` settings, with ``overrides`` (those
    not None) on top."""
    s = Settings()
    base = WorkerConfig(
        timeout=s.webhook_timeout, allow_private=s.webhook_allow_private, nats_url=s.nats_url,
        nats_stream=s.nats_stream, nats_prefix=s.nats_prefix,
        seal_every=s.seal_every, expire_holds_every=s.expire_holds_every,
        standing_every=s.standing_every, cash_short_days=s.cash_short_days,
    )  # fmt: skip
    return WorkerConfig(**{**base.__dict__, **{k: v for k, v in overrides.items()
                                               if v is not None}})  # fmt: skip
