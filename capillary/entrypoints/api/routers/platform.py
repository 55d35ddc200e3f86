"""The platform's clock (DESIGN.md §9): read by anyone, moved by the operator in a sandbox."""

from __future__ import annotations

from fastapi import APIRouter

from capillary.entrypoints.api.deps import Caller, IdempotencyKey, Services
from capillary.entrypoints.api.routing import AnswerInThread
from capillary.entrypoints.api.schemas.platform import ClockAdvance, ClockOut, ClockSet

router = APIRouter(tags=["platform"], route_class=AnswerInThread)


@router.get("/clock", summary="The platform's clock: kind, time zone, now and today")
def clock(services: Services, caller: Caller) -> ClockOut:
    return ClockOut.of(services.admin.reading())


@router.post("/clock/set", summary="Move a sandbox's clock to a day (operator)")
def set_clock(body: ClockSet, services: Services, caller: Caller, key: IdempotencyKey) -> ClockOut:
    """Midnight starting ``day`` in the platform's time zone; never backwards."""
    return ClockOut.of(services.admin.set_clock(body.day, principal=caller, key=key))


@router.post("/clock/advance", summary="Move a sandbox's clock forward by days (operator)")
def advance_clock(
    body: ClockAdvance, services: Services, caller: Caller, key: IdempotencyKey
) -> ClockOut:
    return ClockOut.of(services.admin.advance_clock(days=body.days, principal=caller, key=key))
