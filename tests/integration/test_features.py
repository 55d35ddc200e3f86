"""Organizations' features as of a day (issue 14) read nothing after it: the same seeded
demo economy run for 45 days and for 90 gives, as of its 45th day, the same features for
every organization, on SQLite and PostgreSQL; and the feature table says what it should of
the roles."""

from __future__ import annotations

import shutil
from datetime import date, timedelta
from pathlib import Path

import pytest

from capillary.domain.access import Principal
from capillary.domain.errors import ValidationError
from capillary.domain.features import NAMES
from capillary.domain.parties import Role
from capillary.simulation.demo import run_demo
from tests.conftest import reset_postgres

START = date(2026, 1, 5)
OPS = Principal("capillary-ops", "ops:test", frozenset({Role.OPERATOR}))


def _features_on(url: str, days: int, day: date) -> dict[str, dict[str, float | None]]:
    done = run_demo(url, orgs=60, days=days, seed=11, start=START)
    try:
        return done.platform.scoring.features(day, principal=OPS)
    finally:
        done.platform.ledger.db.dispose()


def test_features_as_of_a_day_read_nothing_after_it(
    store_url: str, request: pytest.FixtureRequest
) -> None:
    day = START + timedelta(days=44)
    short = _features_on(store_url, 45, day)
    if store_url.startswith("sqlite"):  # the store emptied again for the longer run
        path = Path(store_url.removeprefix("sqlite:///"))
        for leftover in path.parent.glob(path.name + "*"):
            leftover.unlink()
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
    else:
        reset_postgres(store_url)
    long = _features_on(store_url, 90, day)
    assert short == long  # the 45 days after changed nothing of what day 45 shows
    assert len(short) >= 50
    assert all(tuple(row) == NAMES for row in short.values())
    sellers = [r for r in short.values() if r["invoices_365d"]]
    assert sellers  # suppliers invoiced
    assert all(0 <= (r["invoice_exception_rate"] or 0) <= 1 for r in sellers)
    assert all(0 < (r["buyer_hhi"] or 0) <= 1 for r in sellers)


def test_a_day_to_come_is_refused_and_a_supplier_sees_only_itself(store_url: str) -> None:
    done = run_demo(store_url, orgs=60, days=20, seed=11, start=START)
    p = done.platform
    try:
        today = p.admin.reading().today
        with pytest.raises(ValidationError):
            p.scoring.features(today + timedelta(days=1), principal=OPS)
        everyone = p.scoring.features(principal=OPS)
        supplier = next(code for code in everyone if code.startswith("t2-"))
        mine = p.scoring.features(principal=Principal(supplier, "t2:test",
                                                      frozenset({Role.SUPPLIER})))  # fmt: skip
        assert mine == {supplier: everyone[supplier]}
    finally:
        p.ledger.db.dispose()
