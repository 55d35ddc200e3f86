"""What the worker does with the store, one unit of work each: fan events out to the
endpoints that want them, claim due deliveries, record how they went, hand the stream its
next events, take turns at jobs, and warn obligors whose cash is short of what falls due.

The worker itself (:mod:`capillary.entrypoints.worker`) does the waiting on receivers; a
receiver never holds a database transaction open."""

from __future__ import annotations

import random
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

import orjson
from sqlalchemy.engine import Connection

from capillary.adapters import account_repository as account_repo
from capillary.adapters import certificate_repository as cert_repo
from capillary.adapters import event_repository as repo
from capillary.adapters import webhook_repository as hooks
from capillary.adapters.clock import DEFAULT_TIMEZONE, Clock, SystemClock, business_date
from capillary.adapters.database import Database
from capillary.adapters.event_repository import StoredEvent
from capillary.adapters.webhook_repository import Due, Result
from capillary.domain.events import body, cash_short_event, envelope, wants
from capillary.domain.webhooks import RetryPolicy, after_attempt
from capillary.services.outbox import emit


@dataclass(frozen=True, slots=True)
class Sent:
    """What a receiver answered a delivery (``status`` None: no answer, ``error`` says
    why)."""

    due: Due
    at: int
    status: int | None
    latency_us: int
    error: str | None


class Relay:
    def __init__(
        self,
        db: Database,
        *,
        clock: Clock | None = None,
        policy: RetryPolicy,
        timezone: str = DEFAULT_TIMEZONE,
    ) -> None:
        self.db = db
        self.clock = clock or SystemClock()
        self.policy = policy
        self.timezone = timezone

    def now(self) -> int:
        """Wall time: retries, leases and claims run by it, whatever the platform's business
        clock says (a sandbox's stands still until its operator moves it)."""
        return time.time_ns() // 1_000

    # ------------------------------------------------------------------ webhooks

    def fan_out(self, limit: int = 1_000) -> int:
        """Deliveries for the next events not yet fanned out, to each active endpoint of an
        organization they concern that wants their type; how many events."""

        if not self.db.transaction(repo.any_unfanned, readonly=True):
            return 0  # idle: no write transaction (on SQLite, no write lock taken)

        def work(conn: Connection) -> int:
            repo.serialize_fan_out(conn)
            events = repo.unfanned(conn, limit)
            if not events:
                return 0
            orgs = sorted({o for e in events for o in e.orgs})
            by_org = defaultdict(list)
            for endpoint in hooks.active_endpoints(conn, orgs):
                by_org[endpoint.org].append(endpoint)
            now = self.now()
            hooks.insert_deliveries(
                conn,
                [
                    (endpoint.id, e.seq, e.subject, now)
                    for e in events
                    for org in e.orgs
                    for endpoint in by_org.get(org, ())
                    if wants(endpoint.types, e.type)
                ],
            )
            repo.mark_fanned(conn, [e.seq for e in events])
            return len(events)

        return self.db.transaction(work)

    def claim(self, limit: int, lease_for_us: int, skip_endpoints: Sequence[int] = ()) -> list[Due]:
        now = self.now()
        if not self.db.transaction(lambda c: hooks.any_due(c, now), readonly=True):
            return []
        return self.db.transaction(
            lambda c: hooks.claim(c, now, now + lease_for_us, limit, skip_endpoints)
        )

    def record(self, sent: Sequence[Sent]) -> None:
        """How each attempt went: delivered, due again after a backoff, or failed once its
        retry window has closed."""
        if not sent:
            return
        results = []
        for s in sent:
            outcome, next_at = after_attempt(
                s.status, attempts=s.due.attempts + 1, window_from=s.due.window_from,
                now=s.at, policy=self.policy, jitter=random.random(),
            )  # fmt: skip
            results.append(Result(s.due.id, s.at, s.status, s.latency_us, s.error, outcome,
                                  next_at))  # fmt: skip
        self.db.transaction(lambda c: hooks.record(c, results))

    # ------------------------------------------------------------------ the stream

    def unpublished(self, limit: int) -> list[StoredEvent]:
        return self.db.transaction(lambda c: repo.unpublished(c, limit), readonly=True)

    def mark_published(self, seqs: Sequence[int]) -> None:
        now = self.now()
        self.db.transaction(lambda c: repo.mark_published(c, seqs, now))

    # ------------------------------------------------------------------ turns at jobs

    def take_lease(self, name: str, holder: str, for_us: int) -> bool:
        now = self.now()
        return self.db.transaction(lambda c: repo.take_lease(c, name, holder, now, now + for_us))

    def release_lease(self, name: str, holder: str) -> None:
        self.db.transaction(lambda c: repo.release_lease(c, name, holder))

    def last_run(self, name: str) -> str | None:
        return self.db.transaction(lambda c: repo.last_run(c, name), readonly=True)

    def set_last_run(self, name: str, value: str) -> None:
        self.db.transaction(lambda c: repo.set_last_run(c, name, value))

    # ------------------------------------------------------------------ warnings

    def warn_cash_short(self, days: int) -> int:
        """For each obligor and currency whose certificates fall due within ``days`` (or are
        overdue) and whose cash is short of them: a ``settlement.cash_short`` event, at most
        one a day. How many were new."""
        today = business_date(self.clock, self.timezone)
        horizon = today + timedelta(days=days)
        at = self.clock.now_us()

        def work(conn: Connection) -> int:
            due: dict[tuple[str, str], list[tuple[str, int, date]]] = defaultdict(list)
            after = 0
            while True:
                page = cert_repo.due_certificates(conn, horizon, 1_000, after_id=after)
                if not page:
                    break
                # What the obligor owes others: its live fragments' holders, not itself (what
                # it bought back early it does not pay).
                obligor_of = {c.id: c.obligor for c in page}
                to_others: dict[int, int] = defaultdict(int)
                for f in cert_repo.fragments_of(conn, list(obligor_of)):
                    live = f.status.value in ("active", "overdue")
                    if live and f.holder != obligor_of[f.certificate_id]:
                        to_others[f.certificate_id] += f.amount
                for c in page:
                    if to_others[c.id]:
                        due[(c.obligor, c.currency)].append((c.number, to_others[c.id], c.maturity))
                after = page[-1].id
            if not due:
                return 0
            ids = account_repo.account_ids(
                conn, sorted({cur for _, cur in due}), codes=("cash",),
                orgs=sorted({o for o, _ in due}),
            )  # fmt: skip
            events = []
            for (obligor, cur), certs in sorted(due.items()):
                owed = sum(face for _, face, _ in certs)
                account = ids.get((obligor, cur, "cash"))
                balance = account_repo.read_balance(conn, account) if account else None
                cash = balance.available_credit if balance is not None else 0
                if cash >= owed:
                    continue
                events.append(cash_short_event(
                    obligor, cur, due=owed, cash=cash, first_due=min(m for *_, m in certs),
                    certificates=[n for n, _, _ in certs], days=days, today=today, at=at,
                ))  # fmt: skip
            before = repo.counts(conn)["events"]
            emit(conn, events)
            return repo.counts(conn)["events"] - before

        return self.db.transaction(work)

    def backlog(self) -> dict[str, int]:
        """Events waiting to be fanned out or published, and deliveries by status."""

        def read(conn: Connection) -> dict[str, int]:
            return {**repo.counts(conn), **hooks.status_counts(conn)}

        return self.db.transaction(read, readonly=True)


def envelope_body(event: tuple[str, str, int, int, str, str, str]) -> bytes:
    """The bytes a receiver gets for a stored event (id, type, version, at, subject, orgs,
    payload): the envelope of :meth:`capillary.domain.events.Event.envelope`."""
    event_id, kind, version, at, subject, orgs, payload = event
    return body(envelope(event_id, kind, version, at, orjson.loads(orgs), subject,
                         orjson.loads(payload)))  # fmt: skip


def stored_body(event: StoredEvent) -> bytes:
    """The bytes a receiver gets for an event read from the outbox."""
    return body(envelope(event.id, event.type, event.version, event.at, event.orgs,
                         event.subject, orjson.loads(event.payload)))  # fmt: skip
