"""A logistic scorecard on weight-of-evidence features, scaled to points.

Each feature is binned monotonically (:mod:`binning`); features carrying little
information (IV below ``min_iv``) are left out; a logistic regression of bad on the bins'
WoE is fitted, and a feature whose coefficient comes out with the wrong sign (more WoE, more
risk) is dropped and the rest refitted, so that every feature's points rise with its WoE and
a reason code always names what cost points. Points: ``base_points`` at odds of
``base_odds`` good to one bad, ``pdo`` more points for twice the odds. A decision's reason
codes are the features that cost the most points against their best bin. The probability
of default is the model's; grades cut it at fixed bands."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from capillary.domain.errors import NothingToFit
from capillary.domain.scoring.binning import Binning, fit, information_value

#: Grades by probability of default, best first: (grade, PD below which it is given).
GRADES: tuple[tuple[str, float], ...] = (
    ("AAA", 0.01), ("AA", 0.02), ("A", 0.05), ("BBB", 0.10), ("BB", 0.20), ("B", 0.35),
    ("C", 1.01),
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class ScorecardConfig:
    max_bins: int = 6
    min_share: float = 0.05  # of the training rows, in every bin
    min_iv: float = 0.02
    regularization: float = 1.0  # the logistic regression's C
    base_points: float = 600.0
    base_odds: float = 50.0  # good to bad, at base_points
    pdo: float = 20.0  # points to double the odds
    reasons: int = 3


@dataclass(frozen=True, slots=True)
class Decision:
    score: float
    pd: float
    grade: str
    reasons: tuple[str, ...]  # features that cost the most points, worst first


@dataclass(frozen=True, slots=True)
class Scorecard:
    binnings: tuple[Binning, ...]  # the features kept, in the model
    coefficients: tuple[float, ...]
    intercept: float
    config: ScorecardConfig
    dropped: tuple[str, ...]  # features left out (too little information or wrong sign)

    @property
    def factor(self) -> float:
        return self.config.pdo / math.log(2)

    @property
    def offset(self) -> float:
        return self.config.base_points - self.factor * math.log(self.config.base_odds)

    def points(self, j: int, woe: float) -> float:
        """Feature ``j``'s points for a bin of weight ``woe``."""
        n = len(self.binnings)
        return (-(self.coefficients[j] * woe + self.intercept / n) * self.factor
                + self.offset / n)  # fmt: skip

    def table(self) -> list[tuple[str, str, float]]:
        """Every (feature, bin, points): the card a person reads."""
        return [(b.feature, x.label, round(self.points(j, x.woe), 1))
                for j, b in enumerate(self.binnings) for x in (*b.bins, b.missing)]  # fmt: skip

    def log_odds_bad(self, row: Mapping[str, str]) -> float:
        return self.intercept + sum(c * b.woe(row.get(b.feature, ""))
                                    for c, b in zip(self.coefficients, self.binnings,
                                                    strict=True))  # fmt: skip

    def decide(self, row: Mapping[str, str]) -> Decision:
        earned, lost = 0.0, []
        for j, b in enumerate(self.binnings):
            got = self.points(j, b.woe(row.get(b.feature, "")))
            best = max(self.points(j, x.woe) for x in (*b.bins, b.missing))
            earned += got
            lost.append((best - got, b.feature))
        pd = 1 / (1 + math.exp(-self.log_odds_bad(row)))
        grade = next(g for g, below in GRADES if pd < below)
        reasons = tuple(f for cost, f in sorted(lost, key=lambda x: -x[0])
                        if cost > 1e-9)[: self.config.reasons]  # fmt: skip
        return Decision(round(earned, 1), pd, grade, reasons)


def fit_scorecard(rows: Sequence[Mapping[str, str]], labels: Sequence[int], features:
                  Sequence[str], config: ScorecardConfig | None = None) -> Scorecard:  # fmt: skip
    """The scorecard of ``labels`` (1 bad) on ``features`` of ``rows``."""
    from sklearn.linear_model import LogisticRegression  # heavy: loaded when fitting

    config = config or ScorecardConfig()
    binnings, dropped = [], []
    for name in features:
        b = fit(name, [r.get(name, "") for r in rows], labels, max_bins=config.max_bins,
                min_share=config.min_share)  # fmt: skip
        if information_value(b) >= config.min_iv and len(b.bins) > 1:
            binnings.append(b)
        else:
            dropped.append(name)
    if not binnings:
        raise NothingToFit(
            f"No feature tells the bad from the good (an information value of at least "
            f"{config.min_iv} over at least two bins): there is nothing to fit a scorecard on."
        )
    while True:
        matrix = [[b.woe(r.get(b.feature, "")) for b in binnings] for r in rows]
        model = LogisticRegression(C=config.regularization, max_iter=1000)
        model.fit(matrix, list(labels))
        coefs = [float(c) for c in model.coef_[0]]
        wrong = [j for j, c in enumerate(coefs) if c > 0]  # more WoE (safer) but more risk
        if not wrong or len(binnings) == 1:
            break
        worst = max(wrong, key=lambda j: coefs[j])
        dropped.append(binnings.pop(worst).feature)
    return Scorecard(tuple(binnings), tuple(coefs), float(model.intercept_[0]), config,
                     tuple(dropped))  # fmt: skip
