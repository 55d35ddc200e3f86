"""Fresh, empty stores for the benchmarks: a SQLite file in a temporary folder, or a
PostgreSQL database created for the run and dropped after it."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg

PG_SERVER = os.environ.get("CAPILLARY_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432")


@contextmanager
def fresh_store(store: str, name: str) -> Iterator[str]:
    """The URL of a new, empty store of kind ``store`` (``sqlite`` or ``postgresql``)."""
    if store == "sqlite":
        with tempfile.TemporaryDirectory(prefix=f"{name}-") as folder:
            yield f"sqlite:///{folder}/{name}.db"
        return
    with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.execute(f"CREATE DATABASE {name}")
    try:
        yield f"{PG_SERVER}/{name}"
    finally:
        with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
