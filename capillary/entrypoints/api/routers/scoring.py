"""Scoring over HTTP: the operator fits, activates and runs scorecards; an organization
reads its own score and reasons, a funder the grade of an obligor it has a line to, the
platform's staff everything; suggestions become decisions with a reason. Risk: exposure,
stress tests and the risk monitor, the platform staff's."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from capillary.domain.contagion import parse_shock
from capillary.domain.errors import ValidationError
from capillary.entrypoints.api.deps import Caller, IdempotencyKey, Services
from capillary.entrypoints.api.pagination import Cursor, Limit, decode, encode
from capillary.entrypoints.api.problems import PROBLEM_JSON
from capillary.entrypoints.api.routing import AnswerInThread
from capillary.entrypoints.api.schemas.common import Page, minor_units
from capillary.entrypoints.api.schemas.market_standing import Grade
from capillary.entrypoints.api.schemas.scoring import (
    DecisionIn,
    DecisionOut,
    ExposureOut,
    ModelOut,
    MonitorOut,
    RunIn,
    RunOut,
    ScoreOut,
    SpreadOut,
    SpreadsOut,
    StressOut,
    SuggestionOut,
    TrainIn,
)

router = APIRouter(tags=["scoring and risk"], route_class=AnswerInThread)
Org = Annotated[str, Path(min_length=3, max_length=64, pattern=r"^[a-z0-9-]+$")]
Version = Annotated[int, Path(ge=1, le=2**31 - 1, description="A model's version.")]
CurrencyQ = Annotated[str, Query(pattern=r"^[A-Za-z]{3}$", description="The certificates' "
                                 "currency.")]  # fmt: skip


@router.post("/scoring/models", status_code=201,
             summary="Fit a scorecard on the platform's data (the operator)")  # fmt: skip
def train(body: TrainIn, services: Services, caller: Caller, key: IdempotencyKey) -> ModelOut:
    labels = None if body.labels is None else {x.organization: int(x.bad) for x in body.labels}
    return ModelOut.of(services.scoring.train(
        principal=caller, key=key, as_of=body.as_of, horizon_days=body.horizon_days,
        labels=labels, activate=body.activate,
    ))  # fmt: skip


@router.get("/scoring/models", summary="The scoring models with their cards (staff)")
def models(services: Services, caller: Caller) -> list[ModelOut]:
    return [ModelOut.of(m) for m in services.scoring.models(principal=caller)]


@router.get("/scoring/models/{version}", summary="One scoring model and its card (staff)")
def model(version: Version, services: Services, caller: Caller) -> ModelOut:
    return ModelOut.of(services.scoring.model(version, principal=caller))


@router.post("/scoring/models/{version}/activate",
             summary="Make a model the one that scores (the operator)")  # fmt: skip
def activate(version: Version, services: Services, caller: Caller,
             key: IdempotencyKey) -> ModelOut:  # fmt: skip
    return ModelOut.of(services.scoring.activate(version, principal=caller, key=key))


@router.post("/scoring/runs", status_code=201,
             summary="Score every trading organization (the operator)")  # fmt: skip
def run(body: RunIn, services: Services, caller: Caller, key: IdempotencyKey) -> RunOut:
    return RunOut.of(services.scoring.run(principal=caller, key=key, day=body.as_of))


@router.get("/scoring/scores", summary="Every organization's latest score (staff)")
def scores(
    services: Services, caller: Caller, cursor: Cursor = None, limit: Limit = 100,
    grade: Annotated[Grade | None, Query(description="Only of this grade.")] = None,
) -> Page[ScoreOut]:  # fmt: skip
    found = services.scoring.scores(principal=caller, grade=grade, after=decode(cursor) or "",
                                    limit=limit + 1)  # fmt: skip
    page = found[:limit]
    more = len(found) > limit and page
    return Page[ScoreOut](items=[ScoreOut.of(s) for s in page],
                          next=encode(page[-1].org) if more else None)  # fmt: skip


@router.get("/scoring/scores/{org}",
            summary="An organization's score: itself (with reasons), funders with a line to "
                    "it (the grade), staff")  # fmt: skip
def score(org: Org, services: Services, caller: Caller) -> ScoreOut:
    return ScoreOut.of(services.scoring.score(org, principal=caller))


@router.get("/scoring/suggestions",
            summary="Suggested grades and issuance limits of the scored cores (staff)")  # fmt: skip
def suggestions(services: Services, caller: Caller) -> list[SuggestionOut]:
    return [SuggestionOut.of(s) for s in services.decisions.suggestions(principal=caller)]


@router.post("/scoring/decisions", status_code=201,
             summary="Approve or override a suggested grade and limit, with a reason "
                     "(the operator)")  # fmt: skip
def decide(body: DecisionIn, services: Services, caller: Caller,
           key: IdempotencyKey) -> DecisionOut:  # fmt: skip
    limit = None
    if body.issuance_limit is not None:
        limit, cur = minor_units(body.issuance_limit)
        if cur != "CNY":
            raise ValidationError(f"Issuance limits are suggested and set in CNY; got {cur}.")
    return DecisionOut.of(services.decisions.decide(
        body.obligor, principal=caller, key=key, reason=body.reason, grade=body.grade,
        limit=limit,
    ))  # fmt: skip


@router.get("/scoring/spreads",
            summary="The spread over the base rate each grade is worth (everyone)")  # fmt: skip
def spreads(services: Services, caller: Caller) -> SpreadsOut:
    del caller  # every participant's: funders put them in their standing rules
    version, found = services.decisions.spreads()
    listed = [SpreadOut(grade=g, spread=str(s)) for g, s in found.items()]
    return SpreadsOut(model_version=version, spreads=listed)


@router.get("/risk/exposure", summary="Outstanding certificates by obligor, funder, tier, "
            "industry and maturity, with concentration alerts (staff)")  # fmt: skip
def exposure(services: Services, caller: Caller, currency: CurrencyQ = "CNY") -> ExposureOut:
    cur = currency.upper()
    return ExposureOut.of(services.risk.exposure(principal=caller, currency=cur), cur)


@router.get("/risk/stress", summary="Default obligors and trace the loss through the "
            "network, with and without recourse (staff)",
            responses={404: {"description": "An organization named is not on the platform.",
                             "content": {PROBLEM_JSON: {"schema": {
                                 "$ref": "#/components/schemas/Problem"}}}}})  # fmt: skip
def stress(
    services: Services, caller: Caller,
    default: Annotated[list[str], Query(min_length=1, max_length=100, description="ORG (pays "
                                        "nothing) or ORG=SHARE still paid, 0 to 1.")],
    currency: CurrencyQ = "CNY",
) -> StressOut:  # fmt: skip
    shocks = dict(parse_shock(text) for text in default)
    return StressOut.of(services.risk.stress(shocks, principal=caller,
                                             currency=currency.upper()))  # fmt: skip


@router.post("/risk/monitor-runs", status_code=201,
             summary="Raise today's risk alerts as events (the operator)")  # fmt: skip
def monitor(services: Services, caller: Caller, key: IdempotencyKey,
            currency: CurrencyQ = "CNY") -> MonitorOut:  # fmt: skip
    return MonitorOut(raised=services.risk.monitor(principal=caller, key=key,
                                                   currency=currency.upper()))  # fmt: skip
