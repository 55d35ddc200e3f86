"""Every write is idempotent (DESIGN.md §8): a client-chosen key, scoped to the principal's
organization, names one request. The first time, the use case runs and its result is
recorded with the key in the same database transaction; the same key with the same request
returns that recorded result and changes nothing; the same key with another request is
``idempotency_conflict``. Two concurrent twins race for the key's row: the loser's
transaction is run again from the start (see :mod:`capillary.adapters.database`) and
becomes a replay.

Callers that want to know whether a call was a replay (the CLI says "replayed", the API
will set a header) watch for it with :func:`watching_replays`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cache
from typing import Any, TypeVar

from pydantic import TypeAdapter
from sqlalchemy.engine import Connection

from capillary.adapters import trust_repository as repo
from capillary.domain.access import Principal
from capillary.domain.errors import IdempotencyConflict
from capillary.domain.ledger import check_key
from capillary.services.outcomes import (
    Fate,
    Outcome,
    OutcomeRecord,
    from_records,
    refused_first,
    to_records,
)

T = TypeVar("T")

_replays: ContextVar[list[str] | None] = ContextVar("capillary_replays", default=None)


@contextmanager
def watching_replays() -> Iterator[list[str]]:
    """Within the block, the keys of the calls that were replays are appended to the list."""
    seen: list[str] = []
    token = _replays.set(seen)
    try:
        yield seen
    finally:
        _replays.reset(token)


@cache
def _adapter(kind: Any) -> TypeAdapter[Any]:
    return TypeAdapter(kind)


def request_hash(use_case: str, request: Any) -> str:
    """A digest of the request: its ``repr``, which for the frozen dataclasses, tuples,
    dates, decimals and dicts (built in a fixed order) that requests are made of names every
    field exactly and costs far less than serializing it."""
    return hashlib.sha256(f"{use_case}\0{request!r}".encode()).hexdigest()


def once(
    conn: Connection,
    *,
    principal: Principal,
    key: str,
    use_case: str,
    request: Any,
    result: Any,
    run: Callable[[], T],
    now: int,
    keep: Callable[[T], bool] | None = None,
) -> T:
    """``run()`` the first time ``key`` is used by the principal's organization, recording
    its result (of type ``result``); the recorded result on a replay of the same request.
    A result ``keep`` says not to record (a batch that changed nothing) leaves no trace:
    the key stays free."""
    check_key(key)
    digest = request_hash(use_case, request)
    found = repo.recorded(conn, principal.org, key)
    adapter = _adapter(result)
    if found is not None:
        if (found.use_case, found.request_hash) != (use_case, digest):
            raise IdempotencyConflict(
                f"Key {key!r} was used by {principal.org} for another request "
                f"({found.use_case.replace('_', ' ')}); choose a new key for a new request."
            )
        seen = _replays.get()
        if seen is not None:
            seen.append(key)
        value: T = adapter.validate_json(found.result)
        return value
    value = run()
    if keep is not None and not keep(value):
        return value
    repo.record(
        conn,
        org=principal.org,
        key=key,
        use_case=use_case,
        request_hash=digest,
        result=adapter.dump_json(value),
        now=now,
    )
    return value


def once_outcomes(
    conn: Connection,
    *,
    principal: Principal,
    key: str,
    use_case: str,
    request: Any,
    run: Callable[[], list[Outcome]],
    atomic: bool,
    now: int,
) -> list[Outcome]:
    """A bulk use case (item by item, refusals as outcomes) under an idempotency key: its
    outcomes, or the recorded ones. In an atomic batch (a single document is one) the first
    refusal is raised inside the unit of work, so nothing is written."""
    records = once(
        conn, principal=principal, key=key, use_case=use_case, request=request,
        result=list[OutcomeRecord], run=lambda: to_records(refused_first(run(), atomic)),
        now=now, keep=lambda done: any(r.fate is not Fate.REFUSED for r in done),
    )  # fmt: skip
    return from_records(records)
