"""Every query of webhooks: organizations' endpoints, the deliveries of events to them, the
claims by which workers share the deliveries (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, the
write lock on SQLite), and each attempt's record."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Connection

from capillary.adapters.driver_sql import is_pg, marks, rows, run, run_many
from capillary.domain.webhooks import Attempt, Delivery, DeliveryStatus, Endpoint

_ENDPOINT = "id, org, url, types, created_at, created_by, disabled_at"


def _endpoint(r: Sequence[Any]) -> Endpoint:
    return Endpoint(r[0], r[1], r[2], tuple(json.loads(r[3])), r[4], r[5], r[6])


def insert_endpoint(
    conn: Connection, org: str, url: str, types: Sequence[str], secret: str, now: int, by: str
) -> Endpoint:
    (found,) = rows(
        conn,
        "INSERT INTO webhook_endpoints (org, url, types, secret, created_at, created_by) "
        f"VALUES (?, ?, ?, ?, ?, ?) RETURNING {_ENDPOINT}",
        [org, url, json.dumps(list(types)), secret, now, by],
    )
    return _endpoint(found)


def endpoint(conn: Connection, endpoint_id: int) -> Endpoint | None:
    found = rows(conn, f"SELECT {_ENDPOINT} FROM webhook_endpoints WHERE id = ?", [endpoint_id])
    return _endpoint(found[0]) if found else None


def endpoints(conn: Connection, org: str | None) -> list[Endpoint]:
    if org is None:
        found = rows(conn, f"SELECT {_ENDPOINT} FROM webhook_endpoints ORDER BY id")
    else:
        found = rows(conn, f"SELECT {_ENDPOINT} FROM webhook_endpoints WHERE org = ? ORDER BY id",
                     [org])  # fmt: skip
    return [_endpoint(r) for r in found]


def active_endpoints(conn: Connection, orgs: Sequence[str]) -> list[Endpoint]:
    if not orgs:
        return []
    found = rows(
        conn,
        f"SELECT {_ENDPOINT} FROM webhook_endpoints WHERE disabled_at IS NULL "
        f"AND org IN ({marks(len(orgs))}) ORDER BY id",
        list(orgs),
    )
    return [_endpoint(r) for r in found]


def disable_endpoint(conn: Connection, endpoint_id: int, now: int) -> None:
    run(conn, "UPDATE webhook_endpoints SET disabled_at = ? WHERE id = ? AND disabled_at IS NULL",
        [now, endpoint_id])  # fmt: skip
    # What was still waiting for it will not be sent: failed, and replayable if re-enabled.
    run(conn, "UPDATE webhook_deliveries SET status = 'failed', next_at = NULL, "
              "last_error = 'endpoint disabled' WHERE endpoint_id = ? AND status = 'pending'",
        [endpoint_id])  # fmt: skip


def insert_deliveries(conn: Connection, deliveries: Sequence[tuple[int, int, str, int]]) -> None:
    """Deliveries (endpoint, event seq, subject, now), due at once; one already made for the
    same endpoint and event is kept as it is."""
    run_many(
        conn,
        "INSERT INTO webhook_deliveries (endpoint_id, event_seq, subject, status, attempts, "
        "created_at, next_at, window_from) VALUES (?, ?, ?, 'pending', 0, ?, ?, ?) "
        "ON CONFLICT (endpoint_id, event_seq) DO NOTHING",
        [(e, s, subj, now, now, now) for e, s, subj, now in deliveries],
    )


@dataclass(frozen=True, slots=True)
class Due:
    """A claimed delivery, with what sending it needs."""

    id: int
    endpoint_id: int
    url: str
    secret: str
    attempts: int
    window_from: int
    event: tuple[str, str, int, int, str, str, str]  # id, type, version, at, subject, orgs, payload


def any_due(conn: Connection, now: int) -> bool:
    """Whether some delivery waits (a cheap read before a claim, which writes)."""
    return bool(rows(conn, "SELECT id FROM webhook_deliveries WHERE status = 'pending' "
                           "AND next_at <= ? LIMIT 1", [now]))  # fmt: skip


def claim(
    conn: Connection, now: int, lease_until: int, limit: int, skip_endpoints: Sequence[int] = ()
) -> list[Due]:
    """Up to ``limit`` deliveries due now and not held by another worker, leased until
    ``lease_until``: of each endpoint and subject only the oldest waiting one (its events
    keep their order), and none of ``skip_endpoints`` (those this worker has enough in
    flight for)."""
    skip = f"AND d.endpoint_id NOT IN ({marks(len(skip_endpoints))}) " if skip_endpoints else ""
    pick = (
        "SELECT d.id FROM webhook_deliveries d "
        "WHERE d.status = 'pending' AND d.next_at <= ? "
        "AND (d.lease_until IS NULL OR d.lease_until < ?) " + skip +
        "AND NOT EXISTS (SELECT 1 FROM webhook_deliveries e WHERE e.status = 'pending' "
        "AND e.endpoint_id = d.endpoint_id AND e.subject = d.subject "
        "AND e.event_seq < d.event_seq) "
        "ORDER BY d.next_at, d.id LIMIT ?"
    )  # fmt: skip
    if is_pg(conn):
        pick += " FOR UPDATE OF d SKIP LOCKED"
    params: list[Any] = [now, now, *skip_endpoints, limit]
    claimed = rows(
        conn,
        f"UPDATE webhook_deliveries SET lease_until = ? WHERE id IN ({pick}) RETURNING id",
        [lease_until, *params],
    )
    ids = sorted(r[0] for r in claimed)
    if not ids:
        return []
    found = rows(
        conn,
        "SELECT d.id, d.endpoint_id, w.url, w.secret, d.attempts, d.window_from, "
        "v.id, v.type, v.version, v.at, v.subject, v.orgs, v.payload "
        "FROM webhook_deliveries d JOIN webhook_endpoints w ON w.id = d.endpoint_id "
        "JOIN events v ON v.seq = d.event_seq "
        f"WHERE d.id IN ({marks(len(ids))}) ORDER BY v.seq",
        ids,
    )
    return [Due(r[0], r[1], r[2], r[3], r[4], r[5], tuple(r[6:13])) for r in found]


@dataclass(frozen=True, slots=True)
class Result:
    """What one attempt came to, and what becomes of its delivery."""

    delivery_id: int
    at: int
    status: int | None
    latency_us: int
    error: str | None
    outcome: DeliveryStatus
    next_at: int | None  # when it is tried again (pending), else None


def record(conn: Connection, results: Sequence[Result]) -> None:
    """Attempts and their deliveries' new state, in one statement each."""
    if not results:
        return
    run_many(
        conn,
        "INSERT INTO webhook_attempts (delivery_id, at, status, latency_us, error) "
        "VALUES (?, ?, ?, ?, ?)",
        [(r.delivery_id, r.at, r.status, r.latency_us, r.error) for r in results],
    )
    run_many(
        conn,
        "UPDATE webhook_deliveries SET status = ?, attempts = attempts + 1, next_at = ?, "
        "lease_until = NULL, delivered_at = ?, last_status = ?, last_error = ?, "
        "last_latency_us = ? WHERE id = ? AND status = 'pending'",
        [
            (r.outcome.value, r.next_at, r.at if r.outcome is DeliveryStatus.DELIVERED else None,
             r.status, r.error, r.latency_us, r.delivery_id)
            for r in results
        ],
    )  # fmt: skip


_DELIVERY = (
    "d.id, d.endpoint_id, v.id, v.type, d.status, d.attempts, d.created_at, d.next_at, "
    "d.delivered_at, d.last_status, d.last_error, d.last_latency_us"
)


def _delivery(r: Sequence[Any]) -> Delivery:
    return Delivery(r[0], r[1], r[2], r[3], DeliveryStatus(r[4]), *r[5:12])


def delivery_health(conn: Connection) -> dict[int, dict[str, Any]]:
    """Per endpoint: its deliveries by status, when one last arrived, and the last error."""
    found: dict[int, dict[str, Any]] = {}
    for endpoint_id, status, count, last in rows(
        conn, "SELECT endpoint_id, status, COUNT(*), MAX(delivered_at) FROM webhook_deliveries "
        "GROUP BY endpoint_id, status",
    ):  # fmt: skip
        entry = found.setdefault(endpoint_id, {"delivered_at": None, "last_error": None})
        entry[status] = count
        if last is not None:
            entry["delivered_at"] = max(last, entry["delivered_at"] or 0)
    for endpoint_id, error in rows(
        conn, "SELECT d.endpoint_id, d.last_error FROM webhook_deliveries d WHERE d.id IN "
        "(SELECT MAX(id) FROM webhook_deliveries WHERE last_error IS NOT NULL "
        "GROUP BY endpoint_id)",
    ):  # fmt: skip
        found.setdefault(endpoint_id, {"delivered_at": None})["last_error"] = error
    return found


def deliveries(
    conn: Connection,
    endpoint_id: int,
    *,
    status: DeliveryStatus | None,
    before: int | None,
    limit: int,
) -> list[Delivery]:
    """An endpoint's deliveries, newest first (``before``: a delivery id to page under)."""
    where: list[str] = ["d.endpoint_id = ?"]
    params: list[Any] = [endpoint_id]
    if status is not None:
        where.append("d.status = ?")
        params.append(status.value)
    if before is not None:
        where.append("d.id < ?")
        params.append(before)
    found = rows(
        conn,
        f"SELECT {_DELIVERY} FROM webhook_deliveries d JOIN events v ON v.seq = d.event_seq "
        f"WHERE {' AND '.join(where)} ORDER BY d.id DESC LIMIT ?",
        [*params, limit],
    )
    return [_delivery(r) for r in found]


def delivery(conn: Connection, delivery_id: int) -> Delivery | None:
    found = rows(
        conn,
        f"SELECT {_DELIVERY} FROM webhook_deliveries d JOIN events v ON v.seq = d.event_seq "
        "WHERE d.id = ?",
        [delivery_id],
    )
    return _delivery(found[0]) if found else None


def attempts(conn: Connection, delivery_id: int) -> list[Attempt]:
    found = rows(
        conn,
        "SELECT delivery_id, at, status, latency_us, error FROM webhook_attempts "
        "WHERE delivery_id = ? ORDER BY id",
        [delivery_id],
    )
    return [Attempt(*r) for r in found]


def replay(conn: Connection, delivery_ids: Sequence[int], now: int) -> int:
    """Failed deliveries due again now, with a fresh retry window."""
    changed = 0
    for i in range(0, len(delivery_ids), 500):
        part = list(delivery_ids[i : i + 500])
        changed += run(
            conn,
            "UPDATE webhook_deliveries SET status = 'pending', next_at = ?, window_from = ?, "
            f"lease_until = NULL WHERE status = 'failed' AND id IN ({marks(len(part))})",
            [now, now, *part],
        )
    return changed


def failed_ids(conn: Connection, endpoint_id: int) -> list[int]:
    found = rows(conn, "SELECT id FROM webhook_deliveries WHERE endpoint_id = ? AND "
                       "status = 'failed' ORDER BY id", [endpoint_id])  # fmt: skip
    return [r[0] for r in found]


def status_counts(conn: Connection) -> dict[str, int]:
    found = rows(conn, "SELECT status, count(*) FROM webhook_deliveries GROUP BY status")
    return {r[0]: r[1] for r in found}
