"""The outbox (DESIGN.md §10): a use case writes its events in its own unit of work, so an
event exists exactly when the change it tells of committed. Workers relay them later
(:mod:`capillary.services.relay`); nothing here waits on a receiver."""

from __future__ import annotations

import os
import time
from collections.abc import Sequence

import orjson
from sqlalchemy.engine import Connection

from capillary.adapters import event_repository as repo
from capillary.domain.events import Event


def new_id() -> str:
    """A new event id: a UUID of version 7 (milliseconds, then 74 random bits), so ids sort
    by when they were made and the id index grows at its end."""
    ms, rand = f"{time.time_ns() // 1_000_000:012x}", os.urandom(10).hex()
    return f"{ms[:8]}-{ms[8:]}-7{rand[:3]}-{'89ab'[int(rand[3], 16) & 3]}{rand[4:7]}-{rand[7:19]}"


def emit(conn: Connection, events: Sequence[Event]) -> None:
    """Write ``events`` inside the caller's unit of work, each with a new id unless it has
    one (an event made at most once)."""
    if not events:
        return
    dumps = orjson.dumps
    rows = [
        (e.id or new_id(), e.type.value, e.version, e.at, e.subject, dumps(e.orgs).decode(),
         dumps(e.payload).decode())
        for e in events
    ]  # fmt: skip
    fixed = [e.id is not None for e in events]
    repo.insert(conn, [r for r, f in zip(rows, fixed, strict=True) if not f])
    repo.insert(conn, [r for r, f in zip(rows, fixed, strict=True) if f], fresh=False)
