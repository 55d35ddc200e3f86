"""Every query of the marketplace's standing parts: published base rates, obligors' grades,
funders' standing quote rules (and what their fills use of each cap), holders' standing
requests, and each execution's recorded book."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy.engine import Connection

from capillary.adapters.driver_sql import day, is_pg, marks, rows, run
from capillary.domain.market import RECOURSE_BY_NAME, RECOURSE_NAMES
from capillary.domain.market_rules import UNRATED, BaseRate, StandingRequest, StandingRule

# ------------------------------------------------------------------ base rates, grades


def insert_base_rate(conn: Connection, rate: BaseRate) -> None:
    run(conn, "INSERT INTO market_base_rates (currency, name, rate, effective_on, created_at, "
              "created_by) VALUES (?, ?, ?, ?, ?, ?)",
        [rate.currency, rate.name, str(rate.rate), rate.effective_on, rate.created_at,
         rate.created_by])  # fmt: skip


def base_rate(conn: Connection, currency: str, on: date) -> BaseRate | None:
    """The base rate in effect for ``currency`` on ``on``: the latest published up to it."""
    found = rows(conn, "SELECT currency, name, rate, effective_on, created_at, created_by "
                       "FROM market_base_rates WHERE currency = ? AND effective_on <= ? "
                       "ORDER BY effective_on DESC, id DESC LIMIT 1", [currency, on])  # fmt: skip
    if not found:
        return None
    r = found[0]
    return BaseRate(r[0], r[1], Decimal(r[2]), day(r[3]), r[4], r[5])


def set_grade(conn: Connection, obligor: str, grade: str, reason: str, now: int, by: str) -> None:
    params = [obligor, grade, reason, now, by]
    run(conn, "INSERT INTO credit_grades (obligor, grade, reason, created_at, created_by) "
              "VALUES (?, ?, ?, ?, ?) ON CONFLICT (obligor) DO UPDATE SET grade = excluded.grade, "
              "reason = excluded.reason, created_at = excluded.created_at, "
              "created_by = excluded.created_by", params)  # fmt: skip


def grades(conn: Connection, obligors: Sequence[str] | None = None) -> dict[str, str]:
    """Each obligor's grade (those with none are :data:`UNRATED`, left out here)."""
    sql, params = "SELECT obligor, grade FROM credit_grades", list(obligors or [])
    if obligors is not None:
        if not obligors:
            return {}
        sql += f" WHERE obligor IN ({marks(len(obligors))})"
    return {r[0]: r[1] for r in rows(conn, sql, params)}


def grade_of(conn: Connection, obligor: str) -> str:
    return grades(conn, [obligor]).get(obligor, UNRATED)


# ------------------------------------------------------------------ standing rules

_RULE = (
    "id, funder, currency, spreads, cap_per_obligor, cap_per_tier, cap_total, recourse, "
    "obligors, status, created_at, created_by"
)


def _spreads_json(spreads: dict[tuple[str, str], Decimal]) -> str:
    return json.dumps({f"{g}|{b}": str(v) for (g, b), v in sorted(spreads.items())})


def _rule(r: Sequence[Any]) -> StandingRule:
    spreads = {tuple(k.split("|", 1)): Decimal(v) for k, v in json.loads(r[3]).items()}
    return StandingRule(r[0], r[1], spreads, r[4], r[5], r[6], bool(r[7]),
                        frozenset(r[8].split()), r[2], r[9] == "open", r[10], r[11])  # fmt: skip


def insert_rule(conn: Connection, rule: StandingRule) -> StandingRule:
    (found,) = rows(
        conn,
        "INSERT INTO market_rules (funder, currency, spreads, cap_per_obligor, cap_per_tier, "
        "cap_total, recourse, obligors, status, created_at, created_by) "
        f"VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'open', ?, ?) RETURNING {_RULE}",
        [rule.funder, rule.currency, _spreads_json(dict(rule.spreads)), rule.cap_per_obligor,
         rule.cap_per_tier, rule.cap_total, rule.recourse, " ".join(sorted(rule.obligors)),
         rule.created_at, rule.created_by],
    )  # fmt: skip
    return _rule(found)


def rules(
    conn: Connection, *, funder: str | None = None, currency: str | None = None,
    active: bool | None = None, ids: Sequence[int] | None = None, lock: bool = False,
) -> list[StandingRule]:  # fmt: skip
    """Rules in id order (``lock``: for the unit of work, in that order, on PostgreSQL)."""
    where: list[str] = ["1 = 1"]
    params: list[Any] = []
    for column, value in (("funder", funder), ("currency", currency)):
        if value is not None:
            where.append(f"{column} = ?")
            params.append(value)
    if active is not None:
        where.append("status = ?")
        params.append("open" if active else "cancelled")
    if ids is not None:
        if not ids:
            return []
        where.append(f"id IN ({marks(len(ids))})")
        params += list(ids)
    sql = f"SELECT {_RULE} FROM market_rules WHERE {' AND '.join(where)} ORDER BY id"
    if lock and is_pg(conn):
        sql += " FOR UPDATE"
    return [_rule(r) for r in rows(conn, sql, params)]


def withdraw_rule(conn: Connection, rule_id: int) -> None:
    run(conn, "UPDATE market_rules SET status = 'cancelled' WHERE id = ?", [rule_id])


def rule_usage(conn: Connection, rule_ids: Sequence[int]) -> dict[str, int]:
    """What the fills of each rule's quotes still use of its caps — the face its funder still
    holds of what it bought (a fragment it sold on or was paid no longer counts) — by the
    pool names of :func:`capillary.domain.market_rules.cap_pool`."""
    if not rule_ids:
        return {}
    found = rows(
        conn,
        "SELECT q.rule_id, m.obligor, rf.tier, SUM(fl.amount) FROM market_fills fl "
        "JOIN market_quotes q ON q.id = fl.quote_id "
        "JOIN market_requests m ON m.id = fl.request_id "
        "JOIN fragments rf ON rf.id = m.fragment_id "
        "JOIN fragments ff ON ff.id = fl.fragment_id "
        f"WHERE q.rule_id IN ({marks(len(rule_ids))}) AND ff.status = 'active' "
        "AND ff.holder = q.funder GROUP BY q.rule_id, m.obligor, rf.tier",
        list(rule_ids),
    )
    used: dict[str, int] = {}
    for rule_id, obligor, tier, amount in found:
        for pool in (f"cap:{rule_id}:obligor:{obligor}", f"cap:{rule_id}:tier:{tier}",
                     f"cap:{rule_id}:total"):  # fmt: skip
            used[pool] = used.get(pool, 0) + int(amount)
    return used


def open_lines(conn: Connection, obligors: Sequence[str], today: date) -> set[tuple[str, str, str]]:
    """(funder, obligor, currency) of every unexpired credit line to ``obligors``."""
    if not obligors:
        return set()
    found = rows(conn, "SELECT funder, obligor, currency, expires_on FROM credit_lines "
                       f"WHERE obligor IN ({marks(len(obligors))})", list(obligors))  # fmt: skip
    return {(r[0], r[1], r[2]) for r in found if day(r[3]) >= today}


# ------------------------------------------------------------------ standing requests

_STANDING = (
    "id, holder, obligor, currency, max_rate, flat_discount, recourse, days, after_fragment, "
    "status, created_at, created_by"
)


def _standing(r: Sequence[Any]) -> StandingRequest:
    return StandingRequest(
        r[0], r[1], r[2], r[3], None if r[4] is None else Decimal(r[4]),
        None if r[5] is None else Decimal(r[5]), RECOURSE_BY_NAME[r[6]], r[7], r[8],
        r[9] == "open", r[10], r[11],
    )  # fmt: skip


def insert_standing(conn: Connection, s: StandingRequest) -> StandingRequest:
    (found,) = rows(
        conn,
        "INSERT INTO market_standing (holder, obligor, currency, max_rate, flat_discount, "
        "recourse, days, after_fragment, status, created_at, created_by) "
        f"VALUES (?, ?, ?, ?, ?, ?, ?, COALESCE((SELECT MAX(id) FROM fragments), 0), 'open', "
        f"?, ?) RETURNING {_STANDING}",
        [s.holder, s.obligor, s.currency, None if s.max_rate is None else str(s.max_rate),
         None if s.flat_discount is None else str(s.flat_discount), RECOURSE_NAMES[s.recourse],
         s.days, s.created_at, s.created_by],
    )  # fmt: skip
    return _standing(found)


def standing(
    conn: Connection, *, holder: str | None = None, active: bool | None = None,
    standing_id: int | None = None, lock: bool = False, ids: Sequence[int] | None = None,
) -> list[StandingRequest]:  # fmt: skip
    where: list[str] = ["1 = 1"]
    params: list[Any] = []
    if ids is not None:
        if not ids:
            return []
        where.append(f"id IN ({marks(len(ids))})")
        params += list(ids)
    if holder is not None:
        where.append("holder = ?")
        params.append(holder)
    if active is not None:
        where.append("status = ?")
        params.append("open" if active else "cancelled")
    if standing_id is not None:
        where.append("id = ?")
        params.append(standing_id)
    sql = f"SELECT {_STANDING} FROM market_standing WHERE {' AND '.join(where)} ORDER BY id"
    if lock and is_pg(conn):
        sql += " FOR UPDATE"
    return [_standing(r) for r in rows(conn, sql, params)]


def cancel_standing(conn: Connection, standing_id: int) -> None:
    run(conn, "UPDATE market_standing SET status = 'cancelled' WHERE id = ?", [standing_id])


def standing_due(conn: Connection, today: date) -> set[int]:
    """The open standing requests a sweep has work for: a fragment received and not yet
    offered, or a request they posted still open — found in one statement, so a sweep
    touches only those."""
    found = rows(
        conn,
        "SELECT s.id FROM market_standing s WHERE s.status = 'open' AND EXISTS ("
        "SELECT 1 FROM fragments f JOIN certificates c ON c.id = f.certificate_id "
        "WHERE f.holder = s.holder AND f.status = 'active' AND f.id > s.after_fragment "
        "AND c.obligor = s.obligor AND c.currency = s.currency "
        "AND NOT EXISTS (SELECT 1 FROM market_requests m WHERE m.fragment_id = f.id) "
        "AND NOT EXISTS (SELECT 1 FROM market_requests m WHERE m.origin_fragment = f.id))"
        " UNION SELECT DISTINCT standing_id FROM market_requests WHERE status = 'open' "
        "AND standing_id IS NOT NULL AND expires_on >= ?",
        [today],
    )
    return {r[0] for r in found}


def unoffered(conn: Connection, s: StandingRequest) -> list[tuple[int, int, date]]:
    """The fragments a standing request has not offered yet: active, held by its holder, of
    its obligor's certificates in its currency, received since it was set, and never the
    fragment of a request (nor the change one left). With each: its amount and maturity."""
    found = rows(
        conn,
        "SELECT f.id, f.amount, c.maturity FROM fragments f "
        "JOIN certificates c ON c.id = f.certificate_id "
        "WHERE f.holder = ? AND f.status = 'active' AND f.id > ? AND c.obligor = ? "
        "AND c.currency = ? "
        "AND NOT EXISTS (SELECT 1 FROM market_requests m WHERE m.fragment_id = f.id) "
        "AND NOT EXISTS (SELECT 1 FROM market_requests m WHERE m.origin_fragment = f.id) "
        "ORDER BY f.id",
        [s.holder, s.after_fragment, s.obligor, s.currency],
    )
    return [(r[0], r[1], day(r[2])) for r in found]


# ------------------------------------------------------------------ executions


def insert_execution(
    conn: Connection, request_id: int, book: str, fills: str, now: int, by: str
) -> None:
    run(conn, "INSERT INTO market_executions (request_id, book, fills, at, executed_by) "
              "VALUES (?, ?, ?, ?, ?)", [request_id, book, fills, now, by])  # fmt: skip


def executions(conn: Connection, request_id: int) -> list[tuple[int, str, str, int, str]]:
    found = rows(conn, "SELECT id, book, fills, at, executed_by FROM market_executions "
                       "WHERE request_id = ? ORDER BY id", [request_id])  # fmt: skip
    return [(r[0], r[1], r[2], r[3], r[4]) for r in found]
