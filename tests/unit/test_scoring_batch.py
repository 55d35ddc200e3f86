"""A scorecard applied in columns gives, row for row, what it gives one row at a time; a
stored scorecard scores as the fitted one did; and suggestions from scores keep their
promises (spreads rise as grades fall, limits never below what is outstanding)."""

from __future__ import annotations

import itertools
import math
from decimal import Decimal
from functools import cache
from pathlib import Path

import numpy as np
import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from capillary.adapters.labelled_csv import read_labelled
from capillary.domain.errors import NothingToFit
from capillary.domain.scoring import persist
from capillary.domain.scoring.batch import score_columns
from capillary.domain.scoring.binning import NumericBinning
from capillary.domain.scoring.decisions import LIMIT_STEP, issuance_limit, spreads
from capillary.domain.scoring.scorecard import GRADES, Scorecard, fit_scorecard

GERMAN = Path(__file__).resolve().parents[3] / "shared" / "data" / "germancredit.csv"


@cache
def card() -> Scorecard:
    """A card on the German data, numeric and categorical features, the defaults as shipped."""
    rows, labels, features = read_labelled(GERMAN, "creditability")
    return fit_scorecard(rows, labels, features)


@cache
def german() -> list[dict[str, str]]:
    return read_labelled(GERMAN, "creditability")[0]


def _columns(rows: list[dict[str, str]], c: Scorecard) -> dict[str, object]:
    out: dict[str, object] = {}
    for b in c.binnings:
        values = [r.get(b.feature, "") for r in rows]
        if isinstance(b, NumericBinning):
            out[b.feature] = np.array([float(v) if v else math.nan for v in values])
        else:
            out[b.feature] = values
    return out


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(0, 999), min_size=1, max_size=30),
       st.lists(st.booleans(), min_size=30, max_size=30))  # fmt: skip
def test_columns_score_as_rows_do(picks: list[int], blank: list[bool]) -> None:
    """Any rows of the data, some values blanked to missing: the same points, PD, grade and
    reasons either way."""
    c = card()
    rows = []
    for n, i in enumerate(picks):
        row = dict(german()[i])
        if blank[n]:
            row[c.binnings[n % len(c.binnings)].feature] = ""
        rows.append(row)
    found = score_columns(c, _columns(rows, c), len(rows))
    for n, row in enumerate(rows):
        one = c.decide(row)
        assert math.isclose(found.score[n], one.score, abs_tol=1e-9)
        assert math.isclose(found.pd[n], one.pd, rel_tol=1e-12)
        assert found.grade[n] == one.grade
        assert found.reasons[n] == one.reasons


def test_a_stored_scorecard_decides_as_the_fitted_one() -> None:
    c = card()
    stored = orjson.loads(orjson.dumps(persist.dump(c)))  # through JSON, as the store keeps it
    again = persist.load(stored)
    for row in german()[:200]:
        assert again.decide(row) == c.decide(row)
    assert again.table() == c.table()


def test_a_grade_worse_is_never_cheaper_and_every_spread_is_within_bounds() -> None:
    calibration = {"AAA": 0.002, "A": 0.03, "BB": 0.12}  # the grades a model gave anyone
    for horizon in (30, 90, 365):
        found = spreads(calibration, horizon)
        assert list(found) == [g for g, _ in GRADES]
        values = list(found.values())
        assert all(a <= b for a, b in itertools.pairwise(values)), found
        assert all(Decimal("0.005") <= v <= Decimal("0.5") for v in values)
        assert all(v == v.quantize(Decimal("0.0001")) for v in values)
    # A year's PD of 0.2% at 45% loss, and the margin: 0.09% + 0.5%, up to the basis point.
    assert spreads(calibration, 365)["AAA"] == Decimal("0.0059")


@given(st.sampled_from([g for g, _ in GRADES]), st.integers(0, 10**14), st.integers(0, 10**13))
def test_a_suggested_limit_is_a_step_or_what_is_outstanding(grade: str, bought: int,
                                                            used: int) -> None:  # fmt: skip
    limit = issuance_limit(grade, bought, used)
    assert limit >= used
    assert limit == used or limit % LIMIT_STEP == 0
    assert limit <= max(bought // 2, used)  # half a year's purchases at the very best
    if grade == "C":
        assert limit == used


def test_a_table_where_nothing_tells_bad_from_good_is_refused_by_name() -> None:
    rows = [{"colour": "blue", "size": "1"} for _ in range(40)]
    labels = [n % 2 for n in range(40)]
    with pytest.raises(NothingToFit):
        fit_scorecard(rows, labels, ["colour", "size"])
