"""The outbox (DESIGN.md §10): a use case writes its events in its own unit of work, so an
event exists exactly when the change it tells of committed. Workers relay them later
(:mod:`capillary.services.relay`); nothing here waits on a receiver."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence

from sqlalchemy.engine import Connection

from capillary.adapters import event_repository as repo
from capillary.domain.events import Event


def emit(conn: Connection, events: Sequence[Event]) -> None:
    """Write ``events`` inside the caller's unit of work, each with a new id unless it has
    one (an event made at most once)."""
    if not events:
        return
    repo.insert(
        conn,
        [
            (e.id or str(uuid.uuid4()), e.type.value, e.version, e.at, e.subject,
             json.dumps(e.orgs), json.dumps(e.payload, separators=(",", ":")))
            for e in events
        ],
    )  # fmt: skip
