"""Where the platform's credit risk sits: outstanding certificates by obligor, by the funder
holding them, by the holder's tier and by the obligor's industry; the maturity ladder; what
is overdue; and concentration alerts against configurable thresholds (one obligor's share
of everything outstanding; one obligor's share of what a funder holds)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from capillary.domain.contagion import Holding


@dataclass(frozen=True, slots=True)
class Thresholds:
    obligor_share: float = 0.40  # of everything outstanding
    funder_obligor_share: float = 0.60  # of what one funder holds


@dataclass(frozen=True, slots=True)
class Alert:
    kind: str  # obligor_concentration | funder_concentration
    subject: str  # the obligor, or "funder/obligor"
    share: float
    threshold: float
    amount: int


@dataclass(frozen=True, slots=True)
class Exposure:
    total: int
    by_obligor: dict[str, int]
    by_funder: dict[str, int]
    by_tier: dict[str, int]
    by_industry: dict[str, int]
    ladder: dict[str, int]  # "YYYY-MM" of maturity → outstanding
    overdue: dict[str, int]  # obligor → outstanding face already overdue
    alerts: tuple[Alert, ...]


def exposure(
    holdings: Sequence[Holding], tiers: Mapping[str, int],
    maturities: Sequence[tuple[str, date, bool, int]], funders: set[str],
    industries: Mapping[str, str], thresholds: Thresholds,
) -> Exposure:  # fmt: skip
    by_obligor: dict[str, int] = defaultdict(int)
    by_funder: dict[str, int] = defaultdict(int)
    by_tier: dict[str, int] = defaultdict(int)
    by_industry: dict[str, int] = defaultdict(int)
    pair: dict[tuple[str, str], int] = defaultdict(int)
    for h in holdings:
        if h.holder == h.obligor:
            continue  # paid early: the obligor holds its own paper, owing nobody
        by_obligor[h.obligor] += h.amount
        by_industry[industries.get(h.obligor) or "unstated"] += h.amount
        if h.holder in funders:
            by_funder[h.holder] += h.amount
            pair[(h.holder, h.obligor)] += h.amount
        else:
            by_tier[f"tier {tiers.get(h.holder, 0)}"] += h.amount
    ladder: dict[str, int] = defaultdict(int)
    overdue: dict[str, int] = defaultdict(int)
    for obligor, maturity, late, amount in maturities:
        ladder[f"{maturity:%Y-%m}"] += amount
        if late:
            overdue[obligor] += amount
    total = sum(by_obligor.values())
    alerts = []
    for obligor, amount in by_obligor.items():
        share = amount / total if total else 0.0
        if share > thresholds.obligor_share:
            alerts.append(Alert("obligor_concentration", obligor, share,
                                thresholds.obligor_share, amount))  # fmt: skip
    for (funder, obligor), amount in pair.items():
        share = amount / by_funder[funder]
        if share > thresholds.funder_obligor_share:
            alerts.append(Alert("funder_concentration", f"{funder}/{obligor}", share,
                                thresholds.funder_obligor_share, amount))  # fmt: skip
    return Exposure(total, dict(by_obligor), dict(by_funder), dict(by_tier), dict(by_industry),
                    dict(sorted(ladder.items())), dict(overdue),
                    tuple(sorted(alerts, key=lambda a: (a.kind, -a.share))))  # fmt: skip
