"""How far down its chain an obligor's credit reached, tier by tier: who received its
certificates, who turned them into cash, at what rate, and what that saved them against the
ceiling each seller set (the rate it would otherwise pay: DESIGN.md's standalone rate)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from capillary.domain.pricing import DayCount, discount


@dataclass(frozen=True, slots=True)
class Received:
    """A fragment that reached a new holder (issued to it, or paid to it by another)."""

    tier: int
    holder: str
    amount: int


@dataclass(frozen=True, slots=True)
class Financed:
    """A seller's fragment bought by a funder (or by the obligor paying early)."""

    tier: int  # the seller's
    seller: str
    face: int
    rate: Decimal
    days: int
    day_count: DayCount
    ceiling: Decimal | None  # the highest rate the seller asked for, where it asked


@dataclass(frozen=True, slots=True)
class TierReach:
    tier: int
    received: int  # organizations at this tier that received the obligor's certificates
    received_face: int
    cashed: int  # of them, those that turned some into cash before maturity
    financed_face: int
    mean_rate: Decimal | None  # face-weighted APR they financed at
    mean_ceiling: Decimal | None  # face-weighted ceiling they asked, where they named one
    saved: int  # discount at each seller's ceiling less the discount it paid


def reach_by_tier(received: Iterable[Received], financed: Iterable[Financed]) -> list[TierReach]:
    """One row per tier, shallowest first. ``saved`` counts only financings whose seller
    named a ceiling above the rate it got (a request in the market); a rate is weighted by
    face, rounded to a hundredth of a percent (half-even); the mean ceiling is over the
    financings whose seller named one."""
    holders: dict[int, set[str]] = defaultdict(set)
    face: dict[int, int] = defaultdict(int)
    for r in received:
        holders[r.tier].add(r.holder)
        face[r.tier] += r.amount
    sellers: dict[int, set[str]] = defaultdict(set)
    financed_face: dict[int, int] = defaultdict(int)
    weighted: dict[int, Decimal] = defaultdict(Decimal)
    saved: dict[int, int] = defaultdict(int)
    asked: dict[int, Decimal] = defaultdict(Decimal)
    asked_face: dict[int, int] = defaultdict(int)
    for f in financed:
        sellers[f.tier].add(f.seller)
        financed_face[f.tier] += f.face
        weighted[f.tier] += f.rate * f.face
        if f.ceiling is not None:
            asked[f.tier] += f.ceiling * f.face
            asked_face[f.tier] += f.face
        if f.ceiling is not None and f.ceiling > f.rate:
            saved[f.tier] += (discount(f.face, f.ceiling, f.days, f.day_count)
                              - discount(f.face, f.rate, f.days, f.day_count))  # fmt: skip
    rows = []
    for tier in sorted(set(holders) | set(sellers)):
        total = financed_face[tier]
        rows.append(TierReach(tier, len(holders[tier]), face[tier], len(sellers[tier]), total,
                              _mean(weighted[tier], total), _mean(asked[tier], asked_face[tier]),
                              saved[tier]))  # fmt: skip
    return rows


def _mean(weighted: Decimal, weight: int) -> Decimal | None:
    return (weighted / weight).quantize(Decimal("0.0001")) if weight else None
