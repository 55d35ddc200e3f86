"""Every query of the outbox: events written with the change that made them, fanned out to
the endpoints that want them, published to the stream; and the leases by which workers
take turns at a job.

Statements go straight to the driver (:mod:`capillary.adapters.driver_sql`): the outbox's
insert is on every write path."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Connection

from capillary.adapters.driver_sql import is_pg, marks, rows, run, run_many

_INSERT = (
    "INSERT INTO events (id, type, version, at, subject, orgs, payload) "
    "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING"
)


_COPY = "COPY events (id, type, version, at, subject, orgs, payload) FROM STDIN"


def insert(
    conn: Connection,
    events: Sequence[tuple[str, str, int, int, str, str, str]],
    *,
    fresh: bool = True,
) -> None:
    """Events as rows (id, type, version, at, subject, orgs JSON, payload JSON). ``fresh``:
    their ids are new (on PostgreSQL they go by COPY, a fifth of a row-by-row insert's
    cost); otherwise an id already written is skipped (an event made at most once, such as
    a day's warning)."""
    if not events:
        return
    if fresh and is_pg(conn):
        driver: Any = conn.connection.driver_connection
        with driver.cursor().copy(_COPY) as copy:
            for row in events:
                copy.write_row(row)
        return
    run_many(conn, _INSERT, events)


@dataclass(frozen=True, slots=True)
class StoredEvent:
    seq: int
    id: str
    type: str
    version: int
    at: int
    subject: str
    orgs: tuple[str, ...]
    payload: str  # JSON, as written


_COLUMNS = "seq, id, type, version, at, subject, orgs, payload"


def _event(r: Sequence[Any]) -> StoredEvent:
    return StoredEvent(r[0], r[1], r[2], r[3], r[4], r[5], tuple(json.loads(r[6])), r[7])


def serialize_fan_out(conn: Connection) -> None:
    """One fan-out at a time (on PostgreSQL a row lock; SQLite's write lock already is one),
    so that deliveries of one subject are made in the events' order."""
    run(conn, "INSERT INTO worker_leases (name, until) VALUES ('fan-out', 0) "
              "ON CONFLICT (name) DO NOTHING")  # fmt: skip
    if is_pg(conn):
        rows(conn, "SELECT name FROM worker_leases WHERE name = 'fan-out' FOR UPDATE")


def any_unfanned(conn: Connection) -> bool:
    return bool(rows(conn, "SELECT seq FROM events WHERE NOT fanned LIMIT 1"))


def unfanned(conn: Connection, limit: int) -> list[StoredEvent]:
    found = rows(conn, f"SELECT {_COLUMNS} FROM events WHERE NOT fanned ORDER BY seq LIMIT ?",
                 [limit])  # fmt: skip
    return [_event(r) for r in found]


def mark_fanned(conn: Connection, seqs: Sequence[int]) -> None:
    for i in range(0, len(seqs), 500):
        part = list(seqs[i : i + 500])
        run(conn, f"UPDATE events SET fanned = ? WHERE seq IN ({marks(len(part))})",
            [True, *part])  # fmt: skip


def unpublished(conn: Connection, limit: int) -> list[StoredEvent]:
    found = rows(
        conn,
        f"SELECT {_COLUMNS} FROM events WHERE published_at IS NULL ORDER BY seq LIMIT ?",
        [limit],
    )
    return [_event(r) for r in found]


def mark_published(conn: Connection, seqs: Sequence[int], now: int) -> None:
    for i in range(0, len(seqs), 500):
        part = list(seqs[i : i + 500])
        run(conn, f"UPDATE events SET published_at = ? WHERE seq IN ({marks(len(part))})",
            [now, *part])  # fmt: skip


def by_id(conn: Connection, event_id: str) -> StoredEvent | None:
    found = rows(conn, f"SELECT {_COLUMNS} FROM events WHERE id = ?", [event_id])
    return _event(found[0]) if found else None


def of_org(
    conn: Connection, org: str | None, *, after: int, limit: int, types: Sequence[str] = ()
) -> list[StoredEvent]:
    """Events concerning ``org`` (all, for ``None``) after ``seq``, oldest first. The orgs
    column is a JSON list; a code is matched with its quotes, so ``A`` never matches ``AB``."""
    where: list[str] = ["seq > ?"]
    params: list[Any] = [after]
    if org is not None:
        where.append("orgs LIKE ? ESCAPE '\\'")
        params.append("%" + json.dumps(org).replace("%", r"\%").replace("_", r"\_") + "%")
    if types:
        where.append(f"type IN ({marks(len(types))})")
        params += list(types)
    sql = f"SELECT {_COLUMNS} FROM events WHERE {' AND '.join(where)} ORDER BY seq LIMIT ?"
    return [_event(r) for r in rows(conn, sql, [*params, limit])]


def counts(conn: Connection) -> dict[str, int]:
    """How many events there are (the last ``seq``: the outbox never deletes), and how many
    wait to be fanned out or published (each read on its partial index, not a scan)."""
    ((total,),) = rows(conn, "SELECT coalesce(max(seq), 0) FROM events")
    ((unfanned_,),) = rows(conn, "SELECT count(*) FROM events WHERE NOT fanned")
    ((unpublished_,),) = rows(conn, "SELECT count(*) FROM events WHERE published_at IS NULL")
    return {"events": total, "unfanned": unfanned_, "unpublished": unpublished_}


# ------------------------------------------------------------------ leases


def take_lease(conn: Connection, name: str, holder: str, now: int, until: int) -> bool:
    """Take (or keep) the lease on job ``name`` until ``until``: granted if nobody holds it,
    its holder's time has run out, or ``holder`` holds it already."""
    changed = run(
        conn,
        "INSERT INTO worker_leases (name, holder, until) VALUES (?, ?, ?) "
        "ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, until = excluded.until "
        "WHERE worker_leases.until < ? OR worker_leases.holder = excluded.holder",
        [name, holder, until, now],
    )
    return changed > 0


def release_lease(conn: Connection, name: str, holder: str) -> None:
    run(conn, "UPDATE worker_leases SET until = 0 WHERE name = ? AND holder = ?", [name, holder])


def last_run(conn: Connection, name: str) -> str | None:
    found = rows(conn, "SELECT last_run FROM worker_leases WHERE name = ?", [name])
    return found[0][0] if found else None


def set_last_run(conn: Connection, name: str, value: str) -> None:
    run(conn, "INSERT INTO worker_leases (name, until, last_run) VALUES (?, 0, ?) "
              "ON CONFLICT (name) DO UPDATE SET last_run = excluded.last_run",
        [name, value])  # fmt: skip


def count_ids(conn: Connection, ids: Sequence[str]) -> int:
    """How many of ``ids`` are already written."""
    found = 0
    for i in range(0, len(ids), 500):
        part = ids[i : i + 500]
        found += int(rows(conn, f"SELECT COUNT(*) FROM events WHERE id IN ({marks(len(part))})",
                          part)[0][0])  # fmt: skip
    return found
