"""Cross-validation of the scorecard against a gradient-boosting challenger and a plain
baseline (one-hot categories and standardized numbers in a logistic regression), on the
same stratified folds: AUC, KS and Gini of each, fold by fold and on average. Any tabular
labelled set goes through the same path: rows of text, a label per row (1 bad)."""

from __future__ import annotations

import statistics
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from capillary.domain.scoring.binning import is_numeric
from capillary.domain.scoring.scorecard import ScorecardConfig, fit_scorecard

Rows = Sequence[Mapping[str, str]]


@dataclass(frozen=True, slots=True)
class Metrics:
    auc: float
    ks: float

    @property
    def gini(self) -> float:
        return 2 * self.auc - 1


@dataclass(frozen=True, slots=True)
class ModelResult:
    model: str
    folds: tuple[Metrics, ...]

    @property
    def auc(self) -> float:
        return statistics.fmean(m.auc for m in self.folds)

    @property
    def ks(self) -> float:
        return statistics.fmean(m.ks for m in self.folds)

    @property
    def gini(self) -> float:
        return statistics.fmean(m.gini for m in self.folds)


def metrics(labels: Sequence[int], risk: Sequence[float]) -> Metrics:
    """AUC and KS of a risk score (higher, riskier) against the labels (1 bad)."""
    from sklearn.metrics import roc_auc_score, roc_curve

    fpr, tpr, _ = roc_curve(list(labels), list(risk))
    ks = max(float(t - f) for t, f in zip(tpr, fpr, strict=True))
    return Metrics(float(roc_auc_score(list(labels), list(risk))), ks)


def _columns(rows: Rows, features: Sequence[str]) -> tuple[list[str], list[str]]:
    numeric = [f for f in features if is_numeric([r.get(f, "") for r in rows])]
    return numeric, [f for f in features if f not in numeric]


def _number(text: str) -> float:
    return float(text) if text.strip() else float("nan")


def scorecard_risk(train: Rows, y: Sequence[int], test: Rows, features: Sequence[str],
                   config: ScorecardConfig) -> list[float]:  # fmt: skip
    card = fit_scorecard(train, y, features, config)
    return [card.log_odds_bad(r) for r in test]


def baseline_risk(train: Rows, y: Sequence[int], test: Rows,
                  features: Sequence[str]) -> list[float]:  # fmt: skip
    """One-hot categories and standardized numbers (missing as the mean) in a logistic
    regression."""
    import numpy as np
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    numeric, categorical = _columns(train, features)

    def parts(rows: Rows) -> tuple[Any, Any]:
        nums = np.array([[_number(r.get(f, "")) for f in numeric] for r in rows], dtype=float)
        cats = np.array([[r.get(f, "") for f in categorical] for r in rows], dtype=object)
        return nums.reshape(len(rows), len(numeric)), cats.reshape(len(rows), len(categorical))

    n_train, c_train = parts(train)
    n_test, c_test = parts(test)
    blocks_train, blocks_test = [], []
    if numeric:
        impute = SimpleImputer(strategy="mean").fit(n_train)
        scale = StandardScaler().fit(impute.transform(n_train))
        blocks_train.append(scale.transform(impute.transform(n_train)))
        blocks_test.append(scale.transform(impute.transform(n_test)))
    if categorical:
        onehot = OneHotEncoder(handle_unknown="ignore", sparse_output=False).fit(c_train)
        blocks_train.append(onehot.transform(c_train))
        blocks_test.append(onehot.transform(c_test))
    model = LogisticRegression(max_iter=2000).fit(np.hstack(blocks_train), list(y))
    return [float(p) for p in model.predict_proba(np.hstack(blocks_test))[:, 1]]


def challenger_risk(train: Rows, y: Sequence[int], test: Rows, features: Sequence[str],
                    seed: int) -> list[float]:  # fmt: skip
    """Gradient boosting (histogram-based, categories native), with its library defaults
    but for a gentler learning rate and early stopping left off (fixed seed, fixed trees)."""
    import numpy as np
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.preprocessing import OrdinalEncoder

    numeric, categorical = _columns(train, features)
    order = numeric + categorical
    encoder = None
    if categorical:
        encoder = OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=np.nan)
        encoder.fit(np.array([[r.get(f, "") for f in categorical] for r in train], dtype=object))

    def matrix(rows: Rows) -> Any:
        nums = np.array([[_number(r.get(f, "")) for f in numeric] for r in rows],
                        dtype=float).reshape(len(rows), len(numeric))  # fmt: skip
        if encoder is None:
            return nums
        cats = encoder.transform(np.array([[r.get(f, "") for f in categorical] for r in rows],
                                          dtype=object))  # fmt: skip
        return np.hstack([nums, cats])

    mask = [f in categorical for f in order]
    model = HistGradientBoostingClassifier(learning_rate=0.05, max_iter=200, max_depth=3,
                                           early_stopping=False, categorical_features=mask,
                                           random_state=seed)  # fmt: skip
    model.fit(matrix(train), list(y))
    return [float(p) for p in model.predict_proba(matrix(test))[:, 1]]


def cross_validate(rows: Rows, labels: Sequence[int], features: Sequence[str], *,
                   folds: int = 5, seed: int = 7,
                   config: ScorecardConfig | None = None,
                   progress: Callable[[str], None] | None = None) -> list[ModelResult]:  # fmt: skip
    """The scorecard, the challenger and the baseline on the same stratified folds."""
    from sklearn.model_selection import StratifiedKFold

    config = config or ScorecardConfig()
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    found: dict[str, list[Metrics]] = {"scorecard": [], "challenger": [], "baseline": []}
    for n, (train_i, test_i) in enumerate(splitter.split(list(range(len(rows))), list(labels))):
        train = [rows[i] for i in train_i]
        test = [rows[i] for i in test_i]
        y, truth = [labels[i] for i in train_i], [labels[i] for i in test_i]
        found["scorecard"].append(metrics(truth, scorecard_risk(train, y, test, features,
                                                                config)))  # fmt: skip
        found["challenger"].append(metrics(truth, challenger_risk(train, y, test, features,
                                                                  seed)))  # fmt: skip
        found["baseline"].append(metrics(truth, baseline_risk(train, y, test, features)))
        if progress is not None:
            progress(f"fold {n + 1} of {folds}")
    return [ModelResult(name, tuple(ms)) for name, ms in found.items()]
