"""The marketplace's standing parts over HTTP: the base rate the operator publishes, obligors'
grades, funders' standing rules, holders' standing requests and the sweep that runs them;
amending a request and replaying its book."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Path

from capillary.domain.market import RECOURSE_BY_NAME
from capillary.domain.market_rules import UNRATED
from capillary.entrypoints.api.deps import Caller, IdempotencyKey, Services
from capillary.entrypoints.api.pagination import Id
from capillary.entrypoints.api.routing import AnswerInThread
from capillary.entrypoints.api.schemas.common import Money, minor_units
from capillary.entrypoints.api.schemas.market import AmendIn, RequestOut
from capillary.entrypoints.api.schemas.market_standing import (
    BaseRateIn,
    BaseRateOut,
    GradeIn,
    GradeOut,
    ReplayOut,
    RuleIn,
    RuleOut,
    StandingIn,
    StandingOut,
    SweepOut,
)
from capillary.services.market import UNCHANGED

router = APIRouter(prefix="/market", tags=["market"], route_class=AnswerInThread)
Org = Annotated[str, Path(min_length=3, max_length=64, pattern=r"^[a-z0-9-]+$")]
Currency = Annotated[str, Path(pattern=r"^[A-Za-z]{3}$")]


def _cap(money: Money | None) -> int | None:
    return None if money is None else minor_units(money)[0]


@router.patch("/requests/{request_id}", summary="Amend what is open of a request (its holder)")
def amend_request(
    request_id: Id, body: AmendIn, services: Services, caller: Caller, key: IdempotencyKey
) -> RequestOut:
    return RequestOut.of(services.market.amend_request(
        request_id, principal=caller, key=key, amount=_cap(body.amount),
        max_rate=None if body.max_rate is None else Decimal(body.max_rate),
        flat_discount=None if body.flat_discount is None else Decimal(body.flat_discount),
        recourse=UNCHANGED if body.recourse is None else RECOURSE_BY_NAME[body.recourse],
        expires_on=body.expires_on,
    ))  # fmt: skip


@router.get("/requests/{request_id}/replay",
            summary="Replay a request's recorded books (its holder, operators)")  # fmt: skip
def replay(request_id: Id, services: Services, caller: Caller) -> list[ReplayOut]:
    return [ReplayOut.of(r) for r in services.market.replay(request_id, principal=caller)]


@router.post("/base-rates", status_code=201, summary="Publish the base rate (the operator)")
def publish_base_rate(
    body: BaseRateIn, services: Services, caller: Caller, key: IdempotencyKey
) -> BaseRateOut:
    return BaseRateOut.of(services.standing.publish_base_rate(
        principal=caller, currency=body.currency.upper(), rate=Decimal(body.rate), key=key,
        name=body.name,
    ))  # fmt: skip


@router.get("/base-rates/{currency}", summary="The base rate in effect today")
def base_rate(currency: Currency, services: Services, caller: Caller) -> BaseRateOut | None:
    del caller  # public to every participant
    found = services.standing.base_rate(currency.upper())
    return None if found is None else BaseRateOut.of(found)


@router.put("/grades/{obligor}", summary="Grade an obligor, with a reason (the operator)")
def set_grade(
    obligor: Org, body: GradeIn, services: Services, caller: Caller, key: IdempotencyKey
) -> GradeOut:
    grade = services.standing.set_grade(obligor, principal=caller, grade=body.grade,
                                        reason=body.reason, key=key)  # fmt: skip
    return GradeOut(obligor=obligor, grade=grade)


@router.get("/grades/{obligor}",
            summary="An obligor's grade (itself, funders with a line to it)")  # fmt: skip
def grade(obligor: Org, services: Services, caller: Caller) -> GradeOut:
    found = services.standing.grade(obligor, principal=caller)
    return GradeOut(obligor=obligor, grade=found or UNRATED)


@router.post("/rules", status_code=201, summary="Set a standing quote rule (a funder)")
def add_rule(body: RuleIn, services: Services, caller: Caller, key: IdempotencyKey) -> RuleOut:
    spreads = {(s.grade, str(s.tenor)): Decimal(s.spread) for s in body.spreads}
    return RuleOut.of(services.standing.add_rule(
        principal=caller, spreads=spreads, key=key, currency=body.currency.upper(),
        cap_per_obligor=_cap(body.cap_per_obligor), cap_per_tier=_cap(body.cap_per_tier),
        cap_total=_cap(body.cap_total), recourse=body.recourse,
        obligors=frozenset(body.obligors),
    ))  # fmt: skip


@router.get("/rules", summary="Your standing rules (all, for operators and auditors)")
def rules(services: Services, caller: Caller) -> list[RuleOut]:
    return [RuleOut.of(r) for r in services.standing.rules_of(principal=caller)]


@router.post("/rules/{rule_id}/withdraw", summary="Withdraw a standing rule (its funder)")
def withdraw_rule(rule_id: Id, services: Services, caller: Caller, key: IdempotencyKey) -> RuleOut:
    return RuleOut.of(services.standing.withdraw_rule(rule_id, principal=caller, key=key))


@router.post("/standing-requests", status_code=201,
             summary="Offer every certificate of an obligor you receive, on set terms")  # fmt: skip
def add_standing(
    body: StandingIn, services: Services, caller: Caller, key: IdempotencyKey
) -> StandingOut:
    return StandingOut.of(services.standing.add_standing_request(
        principal=caller, obligor=body.obligor, key=key, currency=body.currency.upper(),
        max_rate=None if body.max_rate is None else Decimal(body.max_rate),
        flat_discount=None if body.flat_discount is None else Decimal(body.flat_discount),
        recourse=RECOURSE_BY_NAME[body.recourse], days=body.days,
    ))  # fmt: skip


@router.get("/standing-requests", summary="Your standing requests")
def standing(services: Services, caller: Caller) -> list[StandingOut]:
    return [StandingOut.of(s) for s in services.standing.standing_requests(principal=caller)]


@router.post("/standing-requests/{standing_id}/cancel", summary="Cancel a standing request")
def cancel_standing(
    standing_id: Id, services: Services, caller: Caller, key: IdempotencyKey
) -> StandingOut:
    done = services.standing.cancel_standing_request(standing_id, principal=caller, key=key)
    return StandingOut.of(done)


@router.post("/standing-runs", summary="Run the standing requests now (the operator)")
def run_standing(services: Services, caller: Caller, key: IdempotencyKey) -> SweepOut:
    del key  # the sweep is idempotent by nature: it offers each fragment once
    return SweepOut.of(services.standing.run_standing(principal=caller))
