"""A scorecard fitted on the platform's own data, and its model card.

The training set is every scored organization's features as of a day, labelled bad if it
went bad in the window after it (a certificate of its fell overdue, or a recourse claim
was opened against it) — or labelled by the operator where the platform has seen too few
outcomes of its own. The card says what the model was fitted on and how well it does:
the data window, the features kept and dropped, in-sample and cross-validated AUC, KS and
Gini, and the calibration of its probability of default by grade (the PD it predicts
beside the bad rate it saw)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from capillary.domain.errors import TooFewOutcomes
from capillary.domain.scoring.scorecard import GRADES, Scorecard, ScorecardConfig, fit_scorecard

#: The fewest bads (and goods) a scorecard is fitted on: below it the bins say nothing.
MIN_OUTCOMES = 10
#: Cross-validation's folds, at most (fewer when there are fewer bads) and seed.
FOLDS, SEED = 5, 7


def as_text(value: float | None) -> str:
    """A feature value as the scorecard's rows hold it: empty for missing."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return repr(float(value))


def training_set(
    features: Mapping[str, Mapping[str, float | None]], bad: Mapping[str, int]
) -> tuple[list[str], list[dict[str, str]], list[int]]:
    """The organizations labelled in ``bad`` (1 bad, 0 good) that have features: their
    codes, rows and labels, in code order. Refused below :data:`MIN_OUTCOMES` of each."""
    orgs = sorted(o for o in features if o in bad)
    labels = [1 if bad[o] else 0 for o in orgs]
    bads = sum(labels)
    if bads < MIN_OUTCOMES or len(labels) - bads < MIN_OUTCOMES:
        raise TooFewOutcomes(
            f"A scorecard needs at least {MIN_OUTCOMES} organizations that went bad and "
            f"{MIN_OUTCOMES} that did not; the window has {bads} bad of {len(labels)}. "
            "Take a longer window, or give the outcomes as labels."
        )
    rows = [{k: as_text(v) for k, v in features[o].items()} for o in orgs]
    return orgs, rows, labels


@dataclass(frozen=True, slots=True)
class GradeCalibration:
    grade: str
    rows: int
    predicted_pd: float  # the mean PD the model gives them
    observed_rate: float  # the share of them that went bad


def calibration(card: Scorecard, rows: Sequence[Mapping[str, str]],
                labels: Sequence[int]) -> list[GradeCalibration]:  # fmt: skip
    found: dict[str, list[tuple[float, int]]] = {g: [] for g, _ in GRADES}
    for row, y in zip(rows, labels, strict=True):
        d = card.decide(row)
        found[d.grade].append((d.pd, y))
    return [GradeCalibration(g, len(xs), sum(p for p, _ in xs) / len(xs),
                             sum(y for _, y in xs) / len(xs))
            for g, xs in found.items() if xs]  # fmt: skip


def fit_card(
    rows: Sequence[Mapping[str, str]], labels: Sequence[int], features: Sequence[str], *,
    version: int, as_of: date, horizon_days: int, labelled_by: str, created: str,
    config: ScorecardConfig | None = None,
) -> tuple[Scorecard, dict[str, Any]]:  # fmt: skip
    """The scorecard fitted on every row, and its model card (cross-validated on
    stratified folds first)."""
    from capillary.domain.scoring.validation import metrics, scorecard_risk

    config = config or ScorecardConfig()
    card = fit_scorecard(rows, labels, features, config)
    in_sample = metrics(labels, [card.log_odds_bad(r) for r in rows])
    folds = min(FOLDS, sum(labels))
    from sklearn.model_selection import StratifiedKFold

    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=SEED)
    truth: list[int] = []
    risk: list[float] = []
    for train_i, test_i in splitter.split(list(range(len(rows))), list(labels)):
        train = [rows[i] for i in train_i]
        test = [rows[i] for i in test_i]
        risk += scorecard_risk(train, [labels[i] for i in train_i], test, features, config)
        truth += [labels[i] for i in test_i]
    cv = metrics(truth, risk)  # pooled over the folds: each row scored by a model not fitted on it
    model_card = {
        "version": version,
        "created": created,
        "data": {
            "as_of": as_of.isoformat(),
            "horizon_days": horizon_days,
            "labelled_by": labelled_by,
            "rows": len(rows),
            "bads": sum(labels),
        },
        "features": [b.feature for b in card.binnings],
        "dropped": list(card.dropped),
        "scaling": {
            "base_points": config.base_points,
            "base_odds": config.base_odds,
            "pdo": config.pdo,
        },
        "metrics": {
            "in_sample": {"auc": in_sample.auc, "ks": in_sample.ks, "gini": in_sample.gini},
            "cross_validated": {
                "folds": folds,
                "seed": SEED,
                "auc": cv.auc,
                "ks": cv.ks,
                "gini": cv.gini,
            },
        },
        "calibration": [
            {
                "grade": c.grade,
                "rows": c.rows,
                "predicted_pd": c.predicted_pd,
                "observed_rate": c.observed_rate,
            }
            for c in calibration(card, rows, labels)
        ],
    }
    return card, model_card
