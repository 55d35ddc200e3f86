"""A scorecard applied to many rows at once, column by column (numpy): the same points,
probability of default, grade and reason codes as :meth:`Scorecard.decide` gives one row,
for a million organizations without a Python loop per row. Numbers go in as floats, NaN
for missing."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from capillary.domain.scoring.binning import MISSING, NumericBinning
from capillary.domain.scoring.scorecard import GRADES, Scorecard


@dataclass(frozen=True, slots=True)
class Scored:
    score: Any  # float array: points, rounded to a tenth
    pd: Any  # float array
    grade: list[str]
    reasons: list[tuple[str, ...]]  # worst first, at most the card's ``reasons``


def _bin_index(b: Any, column: Any) -> Any:
    """Each row's bin (``len(b.bins)`` for the missing one)."""
    if isinstance(b, NumericBinning):
        values = np.asarray(column, dtype=float)
        found = np.searchsorted(np.asarray(b.edges, dtype=float), values, side="right")
        return np.where(np.isnan(values), len(b.bins), found)
    lookup = {m: i for i, g in enumerate(b.groups) for m in g}
    return np.fromiter((lookup.get(MISSING if v is None else str(v), len(b.bins))
                        for v in column), dtype=np.int64, count=len(column))  # fmt: skip


def score_columns(card: Scorecard, columns: Mapping[str, Any], rows: int) -> Scored:
    """Score ``rows`` rows given as ``columns`` (feature → array); a feature the card uses
    but ``columns`` lacks counts as missing everywhere."""
    k = len(card.binnings)
    points = np.zeros((rows, k))  # each feature's cost against its best bin, ≤ 0
    earned = np.zeros(rows)
    log_odds = np.full(rows, card.intercept)
    for j, b in enumerate(card.binnings):
        column = columns.get(b.feature)
        if column is None:
            column = np.full(rows, np.nan) if isinstance(b, NumericBinning) else [None] * rows
        index = _bin_index(b, column)
        woes = np.array([x.woe for x in (*b.bins, b.missing)])
        bin_points = np.array([card.points(j, w) for w in woes])
        got = bin_points[index]
        earned += got
        points[:, j] = got - bin_points.max()
        log_odds += card.coefficients[j] * woes[index]
    score = np.round(earned, 1)
    pd = 1 / (1 + np.exp(-log_odds))
    cuts = np.array([below for _, below in GRADES])
    grades = np.array([g for g, _ in GRADES], dtype=object)
    grade = grades[np.searchsorted(cuts, pd, side="right")].tolist()
    order = np.argsort(points, axis=1, kind="stable")[:, : card.config.reasons]
    costly = np.take_along_axis(points, order, axis=1) < -1e-9
    features = np.array([b.feature for b in card.binnings] + [""], dtype=object)
    picked = features[np.where(costly, order, k)]  # "" where a feature cost nothing
    reasons = [tuple(n for n in row if n) for row in picked.tolist()]
    return Scored(score, pd, grade, reasons)
