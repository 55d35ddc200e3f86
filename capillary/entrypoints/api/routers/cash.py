"""Cash: what the platform holds for each organization; deposits and withdrawals."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from capillary.entrypoints.api.deps import Caller, IdempotencyKey, Services
from capillary.entrypoints.api.routing import AnswerInThread
from capillary.entrypoints.api.schemas.common import Money, minor_units
from capillary.entrypoints.api.schemas.loop import CashBalance, CashMove, CashMoved

router = APIRouter(tags=["cash"], route_class=AnswerInThread)

Currency = Annotated[str, Path(pattern=r"^[A-Za-z]{3}$", examples=["CNY"])]


@router.get("/cash/{org}/{currency}", summary="An organization's cash balance")
def balance(org: str, currency: Currency, services: Services, caller: Caller) -> CashBalance:
    cur = currency.upper()
    return CashBalance(
        org=org, balance=Money.of(services.cash.cash(org, cur, principal=caller), cur)
    )


@router.post(
    "/deposits", status_code=201, summary="Record money that arrived for an organization (operator)"
)
def deposit(body: CashMove, services: Services, caller: Caller, key: IdempotencyKey) -> CashMoved:
    amount, cur = minor_units(body.amount)
    tx = services.cash.deposit(principal=caller, org=body.org, cur=cur, amount=amount, key=key,
                               ref=body.reference)  # fmt: skip
    return _moved(services, caller, body.org, amount, cur, tx)


@router.post("/withdrawals", status_code=201, summary="Withdraw your cash to your bank account")
def withdraw(body: CashMove, services: Services, caller: Caller, key: IdempotencyKey) -> CashMoved:
    amount, cur = minor_units(body.amount)
    tx = services.cash.withdraw(principal=caller, org=body.org, cur=cur, amount=amount, key=key,
                                ref=body.reference)  # fmt: skip
    return _moved(services, caller, body.org, amount, cur, tx)


def _moved(
    services: Services, caller: Caller, org: str, amount: int, cur: str, tx: int
) -> CashMoved:
    after = services.cash.cash(org, cur, principal=caller)
    return CashMoved(org=org, amount=Money.of(amount, cur), ledger_transaction=tx,
                     balance=Money.of(after, cur))  # fmt: skip
