"""From scores to decisions: the spread a grade is worth over the base rate, and the
issuance limit a core enterprise's grade and purchases suggest. Suggestions only: the
operator approves them or overrides them with a reason.

A grade's spread prices its expected loss for a year: the model's probability of default
for the grade (over the model's horizon, compounded to a year) times the loss given
default, plus a margin for the funder's capital and costs, rounded up to the basis point.
A core's suggested limit is a share of what it bought on the platform in the last year,
the share falling with its grade (nothing for the worst), rounded down to a step, and never
below what it already has outstanding."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import ROUND_CEILING, Decimal

from capillary.domain.market_rules import SPREAD_BOUND
from capillary.domain.scoring.scorecard import GRADES

#: Loss given default of an unsecured claim on a corporate (Basel's foundation IRB: 45%).
LGD = Decimal("0.45")
#: The funder's capital and costs over the expected loss, a year.
MARGIN = Decimal("0.005")
BASIS_POINT = Decimal("0.0001")
#: A probability is carried to twelve places (float noise below them is not risk).
PD_PLACES = Decimal("1e-12")
#: The share of a year's purchases a core may have outstanding, by grade.
LIMIT_SHARE: Mapping[str, Decimal] = {
    "AAA": Decimal("0.50"), "AA": Decimal("0.45"), "A": Decimal("0.40"),
    "BBB": Decimal("0.30"), "BB": Decimal("0.20"), "B": Decimal("0.10"), "C": Decimal(0),
}  # fmt: skip
#: Limits are suggested in steps of 10,000.00 (minor units of a two-decimal currency).
LIMIT_STEP = 1_000_000


def annual_pd(pd: float, horizon_days: int) -> Decimal:
    """A probability of default over ``horizon_days`` as one over a year."""
    p = min(max(pd, 0.0), 1.0)
    return Decimal(repr(1 - (1 - p) ** (365 / horizon_days))).quantize(PD_PLACES)


def grade_pd(grade: str, calibration: Mapping[str, float]) -> float:
    """The PD a grade stands for: the model's mean for it where it graded anyone, else
    the top of its band."""
    if grade in calibration:
        return calibration[grade]
    return min(dict(GRADES)[grade], 1.0)


def spread(grade: str, calibration: Mapping[str, float], horizon_days: int) -> Decimal:
    """The spread over the base rate for ``grade``, rounded up to the basis point and no
    more than a standing rule may carry."""
    loss = annual_pd(grade_pd(grade, calibration), horizon_days) * LGD + MARGIN
    return min(loss.quantize(BASIS_POINT, ROUND_CEILING), SPREAD_BOUND)


def spreads(calibration: Mapping[str, float], horizon_days: int) -> dict[str, Decimal]:
    """Every grade's spread, best grade first."""
    return {g: spread(g, calibration, horizon_days) for g, _ in GRADES}


def issuance_limit(grade: str, purchases_365d: int, used: int = 0) -> int:
    """The issuance limit suggested for a core of ``grade`` that bought ``purchases_365d``
    (minor units) on the platform in the last year, rounded down to :data:`LIMIT_STEP`;
    never below what it has outstanding (``used``): a limit there already stops new issues,
    and one below it cannot be set."""
    share = LIMIT_SHARE.get(grade, Decimal(0))
    amount = int(Decimal(max(purchases_365d, 0)) * share)
    return max(amount - amount % LIMIT_STEP, used)
