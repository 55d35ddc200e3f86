"""Shapes of the marketplace's standing parts: the base rate, grades, funders' standing
rules, holders' standing requests, a sweep's outcome, and a request's book replayed."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import Field

from capillary.domain import wire
from capillary.domain.market import RECOURSE_NAMES, Fill
from capillary.domain.market_rules import TENOR_BUCKETS, BaseRate, StandingRequest, StandingRule
from capillary.entrypoints.api.schemas.common import CurrencyCode, Money, RateText, Shape, instant
from capillary.entrypoints.api.schemas.market import Recourse
from capillary.services.market import Replayed
from capillary.services.market_standing import Sweep

SpreadText = Annotated[
    str,
    Field(pattern=r"^-?[0-9]{1,3}(\.[0-9]{1,10})?$", max_length=16,
          description="A spread over the base rate, a decimal string: 0.012 is 1.2 points"),
]  # fmt: skip
Tenor = Literal["0-30", "31-90", "91-180", "181-365"]  # the tenor buckets
assert Tenor.__args__ == tuple(label for label, _ in TENOR_BUCKETS)  # type: ignore[attr-defined]
Grade = Annotated[str, Field(min_length=1, max_length=16, pattern=r"^[A-Za-z0-9+\-]+$")]


class BaseRateIn(Shape):
    currency: CurrencyCode = "CNY"
    rate: RateText
    name: str = Field("1Y LPR", min_length=1, max_length=64)


class BaseRateOut(Shape):
    currency: str
    name: str
    rate: str
    effective_on: date
    created_at: datetime

    @classmethod
    def of(cls, b: BaseRate) -> BaseRateOut:
        return cls(currency=b.currency, name=b.name, rate=wire.rate_text(b.rate),
                   effective_on=b.effective_on, created_at=instant(b.created_at))  # fmt: skip


class GradeIn(Shape):
    grade: Grade
    reason: str = Field(min_length=1, max_length=500)


class GradeOut(Shape):
    obligor: str
    grade: str = Field(description='The operator\'s grade, or "unrated".')


class SpreadIn(Shape):
    grade: Grade
    tenor: Tenor = Field(description="Days to maturity: 0-30, 31-90, 91-180 or 181-365.")
    spread: SpreadText


class RuleIn(Shape):
    """A funder's standing quotes: the base rate + a spread by the obligor's grade and the
    tenor, within its caps and its credit line; on the obligors named, or all it has a line
    to."""

    currency: CurrencyCode = "CNY"
    spreads: list[SpreadIn] = Field(min_length=1, max_length=200)
    cap_per_obligor: Money | None = None
    cap_per_tier: Money | None = None
    cap_total: Money | None = None
    recourse: bool = False
    obligors: list[str] = Field(default_factory=list, max_length=1000)


class RuleOut(Shape):
    id: int
    funder: str
    currency: str
    spreads: list[SpreadIn]
    cap_per_obligor: Money | None
    cap_per_tier: Money | None
    cap_total: Money | None
    recourse: bool
    obligors: list[str]
    status: str = Field(description="open, or cancelled (withdrawn)")
    created_at: datetime

    @classmethod
    def of(cls, r: StandingRule) -> RuleOut:
        def cap(v: int | None) -> Money | None:
            return None if v is None else Money.of(v, r.currency)

        spreads = [SpreadIn.model_validate({"grade": g, "tenor": b, "spread": f"{v:f}"})
                   for (g, b), v in sorted(r.spreads.items())]  # fmt: skip
        return cls(id=r.id, funder=r.funder, currency=r.currency, spreads=spreads,
                   cap_per_obligor=cap(r.cap_per_obligor), cap_per_tier=cap(r.cap_per_tier),
                   cap_total=cap(r.cap_total), recourse=r.recourse,
                   obligors=sorted(r.obligors), status="open" if r.active else "cancelled",
                   created_at=instant(r.created_at))  # fmt: skip


class StandingIn(Shape):
    """Every fragment of ``obligor``'s certificates the caller receives from now on, offered
    whole for ``days`` at ``max_rate`` (an APR) or ``flat_discount`` or better, one."""

    obligor: str = Field(min_length=3, max_length=64)
    currency: CurrencyCode = "CNY"
    max_rate: RateText | None = None
    flat_discount: RateText | None = None
    recourse: Recourse = "any"
    days: int = Field(5, ge=1, le=365)


class StandingOut(Shape):
    id: int
    holder: str
    obligor: str
    currency: str
    max_rate: str | None
    flat_discount: str | None
    recourse: Recourse
    days: int
    status: str = Field(description="open, or cancelled")
    created_at: datetime

    @classmethod
    def of(cls, s: StandingRequest) -> StandingOut:
        def text(v: Decimal | None) -> str | None:
            return None if v is None else wire.rate_text(v)

        return cls(id=s.id, holder=s.holder, obligor=s.obligor, currency=s.currency,
                   max_rate=text(s.max_rate), flat_discount=text(s.flat_discount),
                   recourse=RECOURSE_NAMES[s.recourse], days=s.days,  # type: ignore[arg-type]
                   status="open" if s.active else "cancelled",
                   created_at=instant(s.created_at))  # fmt: skip


class SweepOut(Shape):
    posted: int = Field(description="Requests posted for fragments received.")
    fills: int
    filled_minor_units: int = Field(description="Face financed, in minor units.")
    refused: int = Field(description="Standing requests whose run was refused (logged).")

    @classmethod
    def of(cls, s: Sweep) -> SweepOut:
        return cls(posted=s.posted, fills=s.fills, filled_minor_units=s.filled,
                   refused=s.refused)  # fmt: skip


class ReplayFill(Shape):
    source: str = Field(description='"quote:<id>" or "early_payment:<id>"')
    funder: str
    amount_minor_units: int
    rate: str

    @classmethod
    def of(cls, f: Fill) -> ReplayFill:
        return cls(source=f"{f.kind.value}:{f.source_id}", funder=f.funder,
                   amount_minor_units=f.amount, rate=wire.rate_text(f.rate))  # fmt: skip


class ReplayOut(Shape):
    """One execution of a request: its recorded book run again through best execution."""

    execution_id: int
    at: datetime
    by: str
    recorded: list[ReplayFill]
    replayed: list[ReplayFill]
    reproduced: bool = Field(description="The replay gives the recorded fills, as booked.")

    @classmethod
    def of(cls, r: Replayed) -> ReplayOut:
        return cls(execution_id=r.execution_id, at=instant(r.at), by=r.by,
                   recorded=[ReplayFill.of(f) for f in r.recorded],
                   replayed=[ReplayFill.of(f) for f in r.replayed],
                   reproduced=r.reproduced)  # fmt: skip
