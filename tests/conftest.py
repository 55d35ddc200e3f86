"""Stores for the tests: SQLite and the real PostgreSQL, both built by the real migrations.

PostgreSQL is at ``CAPILLARY_TEST_POSTGRES`` (default ``postgresql://postgres@127.0.0.1:5432``).
Without it, its tests are skipped with the reason shown; under CI (``CI=true``) they fail
instead, so CI never passes without them.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from capillary.adapters import migrate
from capillary.adapters.clock import ManualClock
from capillary.adapters.database import Database
from capillary.services.ledger import LedgerService

PG_SERVER = os.environ.get("CAPILLARY_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432")
REQUIRE_PG = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _pg_admin() -> psycopg.Connection:
    return psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True, connect_timeout=3)


@pytest.fixture(scope="session")
def pg_server() -> str:
    try:
        _pg_admin().close()
    except psycopg.OperationalError as exc:
        reason = f"PostgreSQL is not reachable at {PG_SERVER}: {str(exc).strip()}"
        if REQUIRE_PG:
            pytest.fail(f"{reason} (CI requires the PostgreSQL tests)")
        pytest.skip(reason)
    return PG_SERVER


@pytest.fixture(scope="session")
def pg_template_url(pg_server: str) -> Iterator[str]:
    """A database for this test session, migrated once."""
    name = f"capillary_test_{uuid.uuid4().hex[:10]}"
    with _pg_admin() as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = f"{pg_server}/{name}"
    db = Database(url)
    migrate.upgrade(db)
    db.dispose()
    yield url
    with _pg_admin() as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def reset_postgres(url: str) -> None:
    """Empty every table. Triggers forbid TRUNCATE to the application; the tests act as the
    database owner in replica mode, which bypasses them."""
    with psycopg.connect(url.replace("postgresql+psycopg", "postgresql"), autocommit=True) as c:
        c.execute("SET session_replication_role = replica")
        tables = [
            name
            for (name,) in c.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                "AND tablename <> 'alembic_version'"
            )
        ]
        c.execute(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY")


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    db = Database(f"sqlite:///{path}")
    migrate.upgrade(db)
    db.dispose()
    return path


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of a fresh, migrated, empty store of each kind."""
    if request.param == "sqlite":
        path = tmp_path / "ledger.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    url: str = request.getfixturevalue("pg_template_url")
    reset_postgres(url)
    return url


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def ledger(store_url: str, clock: ManualClock) -> Iterator[LedgerService]:
    service = LedgerService(Database(store_url), clock=clock)
    yield service
    service.db.dispose()


@pytest.fixture
def pg_ledger(pg_template_url: str, clock: ManualClock) -> Iterator[LedgerService]:
    """A ledger on an empty PostgreSQL store, for what only PostgreSQL does."""
    reset_postgres(pg_template_url)
    service = LedgerService(Database(pg_template_url), clock=clock)
    yield service
    service.db.dispose()


NATS_URL = os.environ.get("CAPILLARY_TEST_NATS", "nats://127.0.0.1:4222")


@pytest.fixture(scope="session")
def nats_url() -> str:
    """The NATS server with JetStream the stream's tests publish to (skipped, with the
    reason, when it is down; under CI a failure)."""
    import socket
    from urllib.parse import urlsplit

    parts = urlsplit(NATS_URL)
    try:
        socket.create_connection((parts.hostname, parts.port or 4222), timeout=3).close()
    except OSError as exc:
        reason = f"NATS is not reachable at {NATS_URL}: {exc}"
        if REQUIRE_PG:
            pytest.fail(f"{reason} (CI requires the stream's tests)")
        pytest.skip(reason)
    return NATS_URL
