"""Connections to the store: SQLite (embedded default) or PostgreSQL, and the unit of work.

SQLite runs in WAL mode with ``synchronous=FULL`` and foreign keys on; a write transaction
starts with ``BEGIN IMMEDIATE`` so that writers queue for the lock up front instead of
failing half-way. PostgreSQL runs at READ COMMITTED; writers lock the rows they change in a
consistent order. On either, a transaction that loses a race (SQLite busy, PostgreSQL
serialization failure or deadlock, or a unique key taken by a concurrent twin) is run again
from the start, a bounded number of times.
"""

from __future__ import annotations

import random
import sqlite3
import time
import weakref
from collections.abc import Callable
from contextvars import ContextVar
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import psycopg
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

from capillary.domain.errors import (
    AlreadyRecorded,
    CapillaryError,
    InternalError,
    OutOfRange,
    RetryExhausted,
    StoreUnavailable,
)

T = TypeVar("T")

_RETRY_SQLSTATES = {"40001", "40P01"}
# Unique keys whose violation means "a concurrent twin won": re-running turns the loser into
# a replay or a clear refusal.
_RETRY_CONSTRAINTS = {
    "uq_transactions_idempotency_key",
    "uq_transactions_pending_id",
    "uq_transactions_reverses_id",
    "pk_idempotency",
    # A unit or an account opened on first use by two writers at once: the loser re-runs
    # and finds it.
    "units_pkey",
    "uq_accounts_org_unit_code",
}


_active: ContextVar[Connection | None] = ContextVar("capillary_unit_of_work", default=None)


def active_connection() -> Connection | None:
    """The connection of the unit of work running in this context, if any: what reads that
    belong to it (the sandbox clock) go through."""
    return _active.get()


def normalize_url(url: str) -> str:
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def create_engine(url: str, *, durable: bool = True) -> Engine:
    """The engine for ``url``. ``durable=False`` (a sandbox built to be thrown away, like
    the demo economy) lets SQLite skip syncing to disk altogether (``synchronous=OFF``:
    the store survives the program crashing, not the machine losing power); PostgreSQL is
    always durable."""
    url = normalize_url(url)
    if url.startswith("sqlite"):
        engine = sa.create_engine(url, connect_args={"timeout": 30})
        _configure_sqlite(engine, durable=durable)
        return engine
    # No pre-ping (a round trip per unit of work); connections are recycled instead, and a
    # dropped one surfaces as an error the caller may retry.
    return sa.create_engine(url, pool_recycle=1800, pool_size=5, max_overflow=5)


def _configure_sqlite(engine: Engine, *, durable: bool = True) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL" if durable else "PRAGMA synchronous=OFF")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA cache_size=-65536")  # 64 MiB of page cache
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        readonly = conn.get_execution_options().get("capillary_readonly", False)
        # Straight to the driver: SQLAlchemy's statement handling costs more than BEGIN.
        conn.connection.driver_connection.execute(  # type: ignore[union-attr]
            "BEGIN" if readonly else "BEGIN IMMEDIATE"
        )


def is_retryable(exc: BaseException) -> bool:
    """Whether ``exc`` is a lost race that running the transaction again can win.

    Errors arrive wrapped by SQLAlchemy, or raw from the driver where we use it directly
    (PostgreSQL's COPY)."""
    orig = exc.orig if isinstance(exc, sa.exc.DBAPIError) else exc
    if isinstance(orig, sqlite3.OperationalError):
        text = str(orig).lower()
        return "locked" in text or "busy" in text
    sqlstate = getattr(orig, "sqlstate", None)
    if sqlstate in _RETRY_SQLSTATES:
        return True
    if sqlstate == "23505":
        diag = getattr(orig, "diag", None)
        return getattr(diag, "constraint_name", None) in _RETRY_CONSTRAINTS
    return False


def store_error(exc: BaseException, where: str) -> CapillaryError:
    """A driver's error as one of ours: a unique business fact named twice, a value beyond
    what a column holds, or a store that cannot be reached; anything else is our fault."""
    orig = exc.orig if isinstance(exc, sa.exc.DBAPIError) else exc
    text = str(orig).strip().splitlines()[0] if str(orig).strip() else type(orig).__name__
    sqlstate = getattr(orig, "sqlstate", None) or ""
    if sqlstate == "23505" or "UNIQUE constraint failed" in text:
        diag = getattr(orig, "diag", None)
        what = getattr(diag, "constraint_name", None) or text.split(":")[-1].strip()
        return AlreadyRecorded(f"That is already recorded ({what}); nothing was written.")
    if sqlstate.startswith("22") or "too large" in text or "overflow" in text.lower():
        return OutOfRange(f"A value is beyond what the store holds ({text}); nothing was written.")
    if isinstance(orig, sqlite3.OperationalError | psycopg.OperationalError) or sqlstate.startswith(
        "08"
    ):
        return StoreUnavailable(f"The store at {where} cannot be used: {text}.")
    if isinstance(exc, sa.exc.IntegrityError) or sqlstate.startswith("23"):
        return InternalError(
            f"The store refused a write as inconsistent ({text}); nothing was written. "
            "This is a fault of Capillary's: please report it."
        )
    return InternalError(f"The store failed ({text}); nothing was written.")


class Database:
    """The store, and the one way to run a unit of work on it."""

    _open: ClassVar[weakref.WeakSet[Database]] = weakref.WeakSet()

    def __init__(self, url: str, *, max_attempts: int = 30, durable: bool = True) -> None:
        self.url = normalize_url(url)
        try:
            self.engine = create_engine(self.url, durable=durable)
        except (sa.exc.ArgumentError, sa.exc.NoSuchModuleError, ValueError):
            raise StoreUnavailable(
                f"{url!r} is not a store URL: write sqlite:///file.db or "
                "postgresql://user@host:5432/name."
            ) from None
        self.display_url = self.engine.url.render_as_string(hide_password=True)
        self.dialect = self.engine.dialect.name
        self.max_attempts = max_attempts
        Database._open.add(self)

    @classmethod
    def forget_inherited_connections(cls) -> None:
        """In a forked child: drop the parent's pooled connections without closing them,
        so that the parent's sessions stay intact (SQLAlchemy's advice for fork)."""
        for db in list(cls._open):
            db.engine.dispose(close=False)

    @property
    def is_postgresql(self) -> bool:
        return self.dialect == "postgresql"

    def transaction(self, work: Callable[[Connection], T], *, readonly: bool = False) -> T:
        """Run ``work`` in one database transaction and commit once; retry lost races."""
        attempt = 0
        while True:
            attempt += 1
            try:
                with self.engine.connect() as conn:
                    if readonly:
                        conn.execution_options(capillary_readonly=True)
                    with conn.begin():
                        token = _active.set(conn)
                        try:
                            return work(conn)
                        finally:
                            _active.reset(token)
            except (sa.exc.DBAPIError, psycopg.Error, sqlite3.Error) as exc:
                if not is_retryable(exc):
                    raise store_error(exc, self.display_url) from exc
                if attempt >= self.max_attempts:
                    raise RetryExhausted(
                        f"The store stayed contended through {attempt} attempts; "
                        "nothing was written. Try again."
                    ) from exc
                time.sleep(random.uniform(0, min(0.05, 0.001 * 2**attempt)))
            except OverflowError as exc:  # SQLite binding an integer beyond 64 bits
                raise OutOfRange(
                    f"A number is beyond what the store holds ({exc}); nothing was written."
                ) from exc

    def read_row(self, sql: str, params: tuple[Any, ...]) -> tuple[Any, ...] | None:
        """One row of one keyed read (``?`` placeholders), outside any unit of work: on a
        pooled connection straight through the driver, in autocommit on PostgreSQL (one
        round trip, no BEGIN or ROLLBACK). For the per-request lookups of the API (a
        presented key) that must see every commit at once and should cost next to
        nothing."""
        try:
            raw = self.engine.raw_connection()
            try:
                driver: Any = raw.driver_connection
                if self.is_postgresql:
                    driver.autocommit = True
                    try:
                        row = driver.execute(sql.replace("?", "%s"), params).fetchone()
                    finally:
                        driver.autocommit = False
                else:
                    row = driver.execute(sql, params).fetchone()
                return None if row is None else tuple(row)
            finally:
                raw.close()
        except (sa.exc.DBAPIError, psycopg.Error, sqlite3.Error) as exc:
            raise store_error(exc, self.display_url) from exc

    def connect(self) -> Connection:
        """A connection for work outside :meth:`transaction` (migrations), with an
        unreachable store said in one sentence."""
        try:
            return self.engine.connect()
        except (sa.exc.DBAPIError, psycopg.Error, sqlite3.Error) as exc:
            raise store_error(exc, self.display_url) from exc

    def dispose(self) -> None:
        self.engine.dispose()


def sqlite_path(url: str) -> Path | None:
    """The file behind a SQLite URL (``None`` for other stores or in-memory)."""
    url = normalize_url(url)
    if not url.startswith("sqlite:///"):
        return None
    path = url.removeprefix("sqlite:///")
    return None if path in ("", ":memory:") else Path(path)
