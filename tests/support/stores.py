"""Fresh stores on demand, for tests that need many (a stateful test, one per example)."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from itertools import count
from pathlib import Path

import pytest

from tests.conftest import reset_postgres


def store_factory(store: str, request: pytest.FixtureRequest) -> Callable[[], str]:
    """A function that returns the URL of a fresh, migrated, empty store of kind ``store``
    each time it is called: a copy of the SQLite template, or the PostgreSQL test database
    emptied."""
    if store == "sqlite":
        template = request.getfixturevalue("sqlite_template")
        folder = Path(tempfile.mkdtemp(prefix="capillary-runs-"))
        request.addfinalizer(lambda: shutil.rmtree(folder, ignore_errors=True))
        numbers = count()

        def fresh_sqlite() -> str:
            path = folder / f"run{next(numbers)}.db"
            shutil.copy(template, path)
            return f"sqlite:///{path}"

        return fresh_sqlite
    url: str = request.getfixturevalue("pg_template_url")

    def fresh_postgres() -> str:
        reset_postgres(url)
        return url

    return fresh_postgres
