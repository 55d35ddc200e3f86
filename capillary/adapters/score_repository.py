"""Scorecards and the scores they gave: ``score_models`` (a version, its model card and
model as JSON, at most one active) and ``scores`` (organization, day, model → score, PD,
grade, reason codes), written in bulk (COPY on PostgreSQL)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import orjson
from sqlalchemy.engine import Connection

from capillary.adapters.driver_sql import day, is_pg, marks, rows, run, run_many


@dataclass(frozen=True, slots=True)
class StoredModel:
    version: int
    as_of: date
    horizon_days: int
    card: dict[str, Any]
    model: dict[str, Any]
    active: bool
    created_at: int
    created_by: str


@dataclass(frozen=True, slots=True)
class StoredScore:
    org: str
    as_of: date
    model_version: int
    score: float
    pd: float
    grade: str
    reasons: tuple[str, ...]


_MODEL = "version, as_of, horizon_days, card, model, active, created_at, created_by"


def _model(r: Any) -> StoredModel:
    return StoredModel(int(r[0]), day(r[1]), int(r[2]), orjson.loads(r[3]), orjson.loads(r[4]),
                       bool(r[5]), int(r[6]), r[7])  # fmt: skip


def next_version(conn: Connection) -> int:
    return int(rows(conn, "SELECT COALESCE(MAX(version), 0) + 1 FROM score_models")[0][0])


def insert_model(conn: Connection, m: StoredModel) -> None:
    run(conn, f"INSERT INTO score_models ({_MODEL}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [m.version, m.as_of, m.horizon_days, orjson.dumps(m.card).decode(),
         orjson.dumps(m.model).decode(), m.active, m.created_at, m.created_by])  # fmt: skip


def models(conn: Connection) -> list[StoredModel]:
    return [_model(r) for r in rows(conn, f"SELECT {_MODEL} FROM score_models ORDER BY version")]


def model(conn: Connection, version: int) -> StoredModel | None:
    found = rows(conn, f"SELECT {_MODEL} FROM score_models WHERE version = ?", [version])
    return _model(found[0]) if found else None


def active_model(conn: Connection) -> StoredModel | None:
    found = rows(conn, f"SELECT {_MODEL} FROM score_models WHERE active")
    return _model(found[0]) if found else None


def activate(conn: Connection, version: int) -> None:
    """Make ``version`` the one active model (the index allows one)."""
    run(conn, "UPDATE score_models SET active = ? WHERE active", [False])
    run(conn, "UPDATE score_models SET active = ? WHERE version = ?", [True, version])


_SCORES = "model_version, as_of, org, score, pd, grade, reasons, created_at"


Row = tuple[str, float, float, str, str]  # org, score, PD, grade, reasons


def replace_scores(conn: Connection, version: int, as_of: date, found: Sequence[Row],
                   now: int) -> None:  # fmt: skip
    """The scores of ``version`` as of ``as_of``: (org, score, PD, grade, reasons) each,
    replacing any the same model gave that day."""
    run(conn, "DELETE FROM scores WHERE model_version = ? AND as_of = ?", [version, as_of])
    run(conn, "UPDATE score_models SET scored_on = ? WHERE version = ?", [as_of, version])
    if is_pg(conn):
        driver: Any = conn.connection.driver_connection
        with driver.cursor().copy(f"COPY scores ({_SCORES}) FROM STDIN") as copy:
            for org, score, pd, grade, reasons in found:
                copy.write_row((version, as_of, org, score, pd, grade, reasons, now))
        return
    day = as_of.isoformat()  # as SQLite keeps a date: adapted once, not per row
    run_many(conn, f"INSERT INTO scores ({_SCORES}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
             [(version, day, org, score, pd, grade, reasons, now)
              for org, score, pd, grade, reasons in found])  # fmt: skip


def _score(r: Any) -> StoredScore:
    return StoredScore(r[0], day(r[1]), int(r[2]), float(r[3]), float(r[4]), r[5],
                       tuple(r[6].split()))  # fmt: skip


def latest_scores(conn: Connection, version: int, orgs: Sequence[str] | None = None, *,
                  grade: str | None = None, after: str = "", limit: int | None = None,
                  ) -> dict[str, StoredScore]:  # fmt: skip
    """Each organization's latest score by ``version`` (of ``orgs``, or everyone's; of one
    ``grade``), in code order after ``after``, at most ``limit``."""
    sql = ("SELECT s.org, s.as_of, s.model_version, s.score, s.pd, s.grade, s.reasons "
           "FROM scores s JOIN score_models m ON m.version = s.model_version "
           "AND m.scored_on = s.as_of WHERE s.model_version = ? AND s.org > ?")  # fmt: skip
    params: list[Any] = [version, after]
    if orgs is not None:
        if not orgs:
            return {}
        sql += f" AND s.org IN ({marks(len(orgs))})"
        params += list(orgs)
    if grade is not None:
        sql += " AND s.grade = ?"
        params.append(grade)
    sql += " ORDER BY s.org"
    if limit is not None:
        sql += " LIMIT ?"
        params.append(limit)
    return {r[0]: _score(r) for r in rows(conn, sql, params)}


def score_of(conn: Connection, version: int, org: str) -> StoredScore | None:
    """``org``'s latest score by ``version``."""
    found = rows(conn, "SELECT org, as_of, model_version, score, pd, grade, reasons FROM scores "
                       "WHERE model_version = ? AND org = ? ORDER BY as_of DESC LIMIT 1",
                 [version, org])  # fmt: skip
    return _score(found[0]) if found else None
