"""The unit of work runs a lost race again, a bounded number of times, and nothing else."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import Connection

from capillary.adapters.database import Database
from capillary.domain import errors


@pytest.mark.parametrize(
    "lost_race",
    [
        sqlite3.OperationalError("database is locked"),
        psycopg.errors.SerializationFailure("could not serialize access"),
        psycopg.errors.DeadlockDetected("deadlock detected"),
    ],
)
def test_a_lost_race_is_run_again_and_a_lasting_one_gives_up(
    tmp_path: Path, lost_race: Exception
) -> None:
    db = Database(f"sqlite:///{tmp_path / 'r.db'}", max_attempts=3)
    calls: list[int] = []

    def flaky(conn: Connection) -> str:
        calls.append(1)
        if len(calls) < 3:
            raise lost_race
        return "done"

    assert db.transaction(flaky) == "done"
    assert len(calls) == 3

    def always(conn: Connection) -> str:
        raise lost_race

    with pytest.raises(errors.RetryExhausted):
        db.transaction(always)
    db.dispose()


def test_a_real_error_is_not_retried(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'r.db'}")
    calls: list[int] = []

    def broken(conn: Connection) -> None:
        calls.append(1)
        conn.exec_driver_sql("SELECT * FROM no_such_table")

    with pytest.raises(Exception, match="no such table"):
        db.transaction(broken)
    assert len(calls) == 1
    db.dispose()
