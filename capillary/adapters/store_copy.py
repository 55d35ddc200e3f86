"""Consistent copies of a store and their way back: SQLite's online backup API, PostgreSQL's
``pg_dump`` / ``pg_restore`` (custom format), each copy read for its journal head in the same
snapshot it was taken from."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy.engine import make_url

from capillary.adapters.database import normalize_url
from capillary.domain.backups import JournalHead
from capillary.domain.errors import BackupRefused, StoreUnavailable

_HEAD = "SELECT seq, chain FROM journal_seals ORDER BY seq DESC LIMIT 1"
_UNSEALED = ("SELECT count(*) FROM transactions WHERE id > "
             "(SELECT coalesce(max(transaction_id), 0) FROM journal_seals)")  # fmt: skip


def _head(cursor: Any) -> JournalHead:
    row = cursor.execute(_HEAD).fetchone()
    (unsealed,) = cursor.execute(_UNSEALED).fetchone()
    if row is None:
        return JournalHead(0, "0" * 64, int(unsealed))
    return JournalHead(int(row[0]), bytes(row[1]).hex(), int(unsealed))


# ------------------------------------------------------------------------------ SQLite


def sqlite_copy(source: Path, target: Path) -> None:
    """``source`` copied page by page into ``target`` while writers may go on (SQLite's
    online backup API: the copy is one consistent state of the database)."""
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst)
    except sqlite3.Error as exc:
        raise StoreUnavailable(f"The SQLite store {source} could not be copied: {exc}.") from exc
    finally:
        dst.close()
        src.close()


def sqlite_head(path: Path) -> JournalHead:
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
        try:
            return _head(conn.cursor())
        except sqlite3.DatabaseError as exc:
            raise BackupRefused(f"The store's copy is not a Capillary store ({exc}).") from exc


# -------------------------------------------------------------------------- PostgreSQL


def libpq(url: str) -> str:
    """A SQLAlchemy URL as libpq (psql, pg_dump) reads it."""
    return (
        make_url(normalize_url(url))
        .set(drivername="postgresql")
        .render_as_string(hide_password=False)
    )


def with_database(url: str, name: str) -> str:
    return make_url(normalize_url(url)).set(database=name).render_as_string(hide_password=False)


def database_name(url: str) -> str:
    return make_url(normalize_url(url)).database or ""


def _tool(name: str, args: list[str]) -> None:
    path = shutil.which(name)
    if path is None:
        raise BackupRefused(f"{name} is not installed here; PostgreSQL stores are backed up "
                            f"and restored with it (Debian: postgresql-client).")  # fmt: skip
    done = subprocess.run([path, *args], capture_output=True, text=True, check=False)  # noqa: S603  (our arguments, a list)
    if done.returncode != 0:
        said = " ".join(done.stderr.split())[:500]
        raise BackupRefused(f"{name} failed: {said}")


def pg_dump(url: str, target: Path) -> JournalHead:
    """The store at ``url`` dumped to ``target`` (custom format) from the same snapshot its
    journal head is read in: a transaction exports its snapshot and pg_dump takes it."""
    try:
        conn = psycopg.connect(libpq(url), connect_timeout=10)
    except psycopg.Error as exc:
        raise StoreUnavailable(f"The PostgreSQL store could not be reached: {exc}.") from exc
    with conn:
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        conn.read_only = True
        cursor = conn.cursor()
        (snapshot,) = cursor.execute("SELECT pg_export_snapshot()").fetchone() or ("",)
        head = _head(cursor)
        _tool("pg_dump", ["--format=custom", "--no-owner", f"--snapshot={snapshot}",
                          f"--file={target}", f"--dbname={libpq(url)}"])  # fmt: skip
        conn.rollback()
    return head


def _admin(url: str) -> psycopg.Connection[Any]:
    try:
        return psycopg.connect(libpq(with_database(url, "postgres")), autocommit=True,
                               connect_timeout=10)  # fmt: skip
    except psycopg.Error as exc:
        raise StoreUnavailable(f"The PostgreSQL server could not be reached: {exc}.") from exc


def pg_state(url: str) -> bool | None:
    """Whether the database at ``url`` holds tables (``None``: there is no such database)."""
    with _admin(url) as admin:
        name = database_name(url)
        if admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is None:
            return None
    with psycopg.connect(libpq(url), connect_timeout=10) as conn:
        found = conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")
        return bool((found.fetchone() or (0,))[0])


def _as_admin(url: str, statement: str) -> None:
    """One statement on the server's ``postgres`` database; a refusal (no CREATEDB right,
    a database in use) said in a sentence."""
    with _admin(url) as admin:
        try:
            admin.execute(statement.encode())  # names we made, quoted
        except psycopg.Error as exc:
            said = " ".join(str(exc).split())
            what = " ".join(statement.split()[:2]).lower()
            raise BackupRefused(f"PostgreSQL refused to {what}: {said}") from exc


def pg_create(url: str) -> None:
    _as_admin(url, f'CREATE DATABASE "{database_name(url)}"')


def pg_drop(url: str) -> None:
    _as_admin(url, f'DROP DATABASE IF EXISTS "{database_name(url)}" WITH (FORCE)')


def pg_rename(url: str, name: str) -> None:
    _as_admin(url, f'ALTER DATABASE "{database_name(url)}" RENAME TO "{name}"')


def pg_restore(url: str, dump: Path) -> None:
    """``dump`` restored into the empty database at ``url``, in one transaction."""
    _tool("pg_restore", ["--no-owner", "--single-transaction", "--exit-on-error",
                         f"--dbname={libpq(url)}", str(dump)])  # fmt: skip
