"""How a funder's standing rule prices and sizes its quotes (DESIGN.md §6), and how a holder's
flat discount reads as an APR. Pure functions: the marketplace's services load a request's
context (the obligor's grade, the tier, the days left, what the funder has already used)
and ask these what the rule offers.

A rule's rate is the base rate the operator publishes (the one-year LPR, say) plus a spread
by the obligor's grade and the tenor's bucket; a grade or bucket the rule does not name is
not quoted. Its amount is bounded by the funder's caps (per obligor, per tier, in total) and
its credit line to the obligor: each is a *pool* the fills of all its quotes share
(:func:`capillary.domain.market.best_execution`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal

from capillary.domain.errors import InvalidRate, ValidationError
from capillary.domain.inputs import RateRange, parse_rate
from capillary.domain.market import Fill, Request, Source, SourceKind, execute, priority
from capillary.domain.pricing import DayCount

#: Rates are kept to ten decimal places (0.0000000001 a year; the API's rates carry no more),
#: banker's rounding: priced back, an APR converted from a flat discount gives the flat
#: discount to within half a minor unit plus face × days / base × 5e-11 (a fen and a half
#: on a face of 100,000,000.00 for a year).
RATE_PLACES = Decimal("1e-10")
RATE_ROUNDING = ROUND_HALF_EVEN

#: Tenor buckets by days left to maturity: (label, last day).
TENOR_BUCKETS: tuple[tuple[str, int], ...] = (
    ("0-30", 30), ("31-90", 90), ("91-180", 180), ("181-365", 365),
)  # fmt: skip


def tenor_bucket(days: int) -> str | None:
    """The bucket of ``days`` left to maturity (``None`` beyond a year or none left)."""
    if days <= 0:
        return None
    for label, last in TENOR_BUCKETS:
        if days <= last:
            return label
    return None


def apr_of_flat_discount(
    fraction: Decimal, days: int, day_count: DayCount = DayCount.ACT_360
) -> Decimal:
    """A flat discount (``0.01``: 1% off the face) as the APR it amounts to over ``days``:
    the rate at which :func:`capillary.domain.pricing.discount` takes that fraction, so the
    two ways of saying a price agree."""
    if not fraction.is_finite() or not Decimal(0) <= fraction < 1:
        raise InvalidRate(f"A flat discount is a fraction in [0, 1); got {fraction}.")
    if days <= 0:
        raise InvalidRate("A flat discount needs days left to maturity to read as an APR.")
    apr = (fraction * day_count.base / days).quantize(RATE_PLACES, RATE_ROUNDING)
    if apr >= 1:
        raise InvalidRate(
            f"A flat discount of {fraction * 100:f}% over {days} days is an APR of "
            f"{apr * 100:.2f}%: beyond what the platform prices (below 100%)."
        )
    return apr


@dataclass(frozen=True, slots=True)
class StandingRule:
    id: int
    funder: str
    #: Spread over the base rate by (obligor grade, tenor bucket).
    spreads: Mapping[tuple[str, str], Decimal]
    cap_per_obligor: int | None = None
    cap_per_tier: int | None = None
    cap_total: int | None = None
    recourse: bool = False
    obligors: frozenset[str] = field(default_factory=frozenset)  # empty: any it has a line to
    currency: str = "CNY"
    active: bool = True  # withdrawn rules quote no more
    created_at: int = 0
    created_by: str = ""


#: A grade names an obligor's credit standing (the operator's, or a scorecard's it approved);
#: an obligor with none is "unrated", a grade a rule may price like any other.
UNRATED = "unrated"
#: The widest spread a rule may set over the base rate, either way.
SPREAD_BOUND = Decimal("0.5")


def parse_spread(text: str) -> Decimal:
    """A spread a person wrote over the base rate: ``1.2%`` or ``0.012``, negative with a
    leading minus, within ±:data:`SPREAD_BOUND`."""
    written = text.strip()
    size = parse_rate(written.lstrip("-"), RateRange(Decimal(0), SPREAD_BOUND, "A spread"))
    return -size if written.startswith("-") else size


def check_spreads(spreads: Mapping[tuple[str, str], Decimal]) -> dict[tuple[str, str], Decimal]:
    """A rule's spreads, each named by a grade (1-16 letters, digits, ``+`` or ``-``) and
    one of the tenor buckets, within ±50% of the base rate; at least one."""
    if not spreads:
        raise ValidationError("A standing rule names at least one spread (grade, tenor).")
    buckets = [label for label, _ in TENOR_BUCKETS]
    checked = {}
    for (grade, bucket), spread in spreads.items():
        check_grade(grade)
        if bucket not in buckets:
            raise ValidationError(
                f"{bucket!r} is not a tenor bucket; the buckets are {', '.join(buckets)}."
            )
        if not spread.is_finite() or abs(spread) > SPREAD_BOUND:
            raise ValidationError(f"A spread is within ±{SPREAD_BOUND}; got {spread}.")
        checked[(grade, bucket)] = spread
    return checked


def check_grade(grade: str) -> str:
    if not (0 < len(grade) <= 16 and all(c.isalnum() or c in "+-" for c in grade)):
        raise ValidationError(f"{grade!r} is not a grade (1-16 letters, digits, + or -).")
    return grade


@dataclass(frozen=True, slots=True)
class BaseRate:
    """The base rate the operator publishes for a currency from ``effective_on``."""

    currency: str
    name: str
    rate: Decimal
    effective_on: date
    created_at: int
    created_by: str


@dataclass(frozen=True, slots=True)
class StandingRequest:
    """A holder's standing wish: every fragment of ``obligor``'s certificates it receives is
    offered to the market on these terms, each request open for ``days``."""

    id: int
    holder: str
    obligor: str
    currency: str
    max_rate: Decimal | None  # the highest APR, or
    flat_discount: Decimal | None  # the highest flat discount off the face
    recourse: bool | None
    days: int
    after_fragment: int  # fragments with a greater id are "received" since it was set
    active: bool
    created_at: int
    created_by: str

    def highest_rate(self, days_left: int) -> Decimal:
        """The APR these terms accept on a fragment with ``days_left`` to maturity."""
        if self.max_rate is not None:
            return self.max_rate
        assert self.flat_discount is not None
        return apr_of_flat_discount(self.flat_discount, days_left)


@dataclass(frozen=True, slots=True)
class Context:
    """What a rule is asked about: a request's obligor, its grade, the fragment's tier, the
    days left, and the currency."""

    obligor: str
    grade: str
    tier: int
    days: int
    currency: str


def rule_rate(rule: StandingRule, base_rate: Decimal, context: Context) -> Decimal | None:
    """The APR the rule quotes in ``context`` (``None``: it does not quote there)."""
    if rule.obligors and context.obligor not in rule.obligors:
        return None
    bucket = tenor_bucket(context.days)
    if bucket is None:
        return None
    spread = rule.spreads.get((context.grade, bucket))
    if spread is None:
        return None
    rate = base_rate + spread
    return rate if rate >= 0 else Decimal(0)


def cap_pool(rule: StandingRule, kind: str, value: object = "") -> str:
    """The name of one of a rule's caps: per obligor, per tier (``value``) or ``total``."""
    return f"cap:{rule.id}:{kind}:{value}" if kind != "total" else f"cap:{rule.id}:total"


def rule_pools(rule: StandingRule, context: Context) -> dict[str, int | None]:
    """The shared limits a rule's quote draws on, each with its cap (``None``: uncapped,
    left out), beside the funder's credit line (sized by the caller). A rule's caps are its
    own: every quote it makes draws on them, another rule of its funder's does not."""
    return {
        f"line:{rule.funder}:{context.obligor}:{context.currency}": None,  # the caller knows it
        cap_pool(rule, "obligor", context.obligor): rule.cap_per_obligor,
        cap_pool(rule, "tier", context.tier): rule.cap_per_tier,
        cap_pool(rule, "total"): rule.cap_total,
    }


def pool_room(
    caps: Mapping[str, int | None], used: Mapping[str, int], line_available: int
) -> dict[str, int]:
    """What remains of each pool a quote draws on: each cap less what is used of it (never
    below nothing); the credit line as available. Uncapped pools are left out."""
    room: dict[str, int] = {}
    for pool, cap in caps.items():
        if pool.startswith("line:"):
            room[pool] = max(0, line_available)
        elif cap is not None:
            room[pool] = max(0, cap - used.get(pool, 0))
    return room


def standing_sources(
    rules: Sequence[StandingRule], base_rate: Decimal, context: Context, *, first_id: int = 1
) -> list[Source]:
    """The quotes the standing rules make in ``context``, cheapest first: one per rule that
    quotes there, drawing on its funder's line and caps (pool names by :func:`rule_pools`),
    for as much as those allow (the pools bound it; a rule's own amount is unbounded)."""
    made = []
    for n, rule in enumerate(rules):
        rate = rule_rate(rule, base_rate, context)
        if rate is None:
            continue
        pools = tuple(p for p, cap in rule_pools(rule, context).items()
                      if cap is not None or p.startswith("line:"))  # fmt: skip
        made.append(Source(first_id + n, SourceKind.QUOTE, rule.funder, rate, 2**62,
                           rule.recourse, 0, pools))  # fmt: skip
    return sorted(made, key=priority)


def match_standing(
    requests: Sequence[tuple[Request, Context]],
    rules: Sequence[StandingRule],
    base_rate: Decimal,
    pools: Mapping[str, int],
    *,
    min_fill: int,
) -> tuple[list[Fill], dict[str, int]]:
    """Requests (earliest first) filled from the standing rules, which share their pools
    across requests. The rules' quotes are priced once per context (obligor, grade, tier,
    tenor bucket, currency), not once per request."""
    remaining = dict(pools)
    by_context: dict[tuple[str, str, int, str | None, str], list[Source]] = {}
    fills: list[Fill] = []
    for request, context in sorted(requests, key=lambda rc: (rc[0].posted_at, rc[0].id)):
        group = (context.obligor, context.grade, context.tier, tenor_bucket(context.days),
                 context.currency)  # fmt: skip
        sources = by_context.get(group)
        if sources is None:
            sources = by_context[group] = standing_sources(rules, base_rate, context)
        fills += execute(request, sources, remaining, min_fill=min_fill)
    return fills, remaining
