"""Bank files over HTTP: an organization puts its bank account on file, lists its payments
and fetches its own camt.053 statement; the operator runs payments (pain.001) and imports
the bank's statements (camt.053)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response

from capillary.entrypoints.api.deps import Caller, IdempotencyKey, Services
from capillary.entrypoints.api.problems import PROBLEM_JSON
from capillary.entrypoints.api.routing import AnswerInThread
from capillary.entrypoints.api.schemas.bank import (
    BankAccountIn,
    BankAccountOut,
    PaymentFileOut,
    PaymentOut,
    PaymentRunOut,
    StatementImportOut,
    StatementIn,
)

NOT_YOURS: dict[int | str, dict[str, Any]] = {
    404: {"description": "An organization whose payments the caller may not see.",
          "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}},
}  # fmt: skip
router = APIRouter(tags=["bank files"], route_class=AnswerInThread)
Org = Annotated[str, Path(min_length=3, max_length=64, pattern=r"^[a-z0-9-]+$")]
XML: dict[int | str, dict[str, Any]] = {
    200: {"content": {"application/xml": {}}, "description": "A camt.053.001.08 statement."}
}


@router.post("/bank-accounts", status_code=201, summary="Put your bank account on file")
def set_account(
    body: BankAccountIn, services: Services, caller: Caller, key: IdempotencyKey
) -> BankAccountOut:
    done = services.bank.set_account(principal=caller, org=body.org, cur=body.currency,
                                     number=body.number, holder=body.holder, bic=body.bic,
                                     sweep=body.sweep, key=key)  # fmt: skip
    return BankAccountOut.of(done)


@router.get("/bank-accounts/{org}", summary="An organization's bank accounts on file")
def accounts(org: Org, services: Services, caller: Caller) -> list[BankAccountOut]:
    return [BankAccountOut.of(a) for a in services.bank.accounts(org, principal=caller)]


@router.get("/bank/payments", summary="Payments to bank accounts, newest first",
            responses=NOT_YOURS)  # fmt: skip
def payments(
    services: Services, caller: Caller,
    org: Annotated[str | None, Query(min_length=3, max_length=64,
                                     pattern=r"^[a-z0-9-]+$")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[PaymentOut]:  # fmt: skip
    found = services.bank.payments(principal=caller, org=org, limit=limit)
    return [PaymentOut.of(p, status, file) for p, status, file in found]


@router.post("/bank/payment-runs", status_code=201,
             summary="Send every queued payment as pain.001 files (operator)")  # fmt: skip
def run_payments(services: Services, caller: Caller, key: IdempotencyKey) -> PaymentRunOut:
    files = services.bank.run_payments(principal=caller, key=key)
    return PaymentRunOut(files=[PaymentFileOut.of(f) for f in files])


@router.post("/bank/statements", status_code=201,
             summary="Book a bank's camt.053 statement (operator)")  # fmt: skip
def import_statement(
    body: StatementIn, services: Services, caller: Caller, key: IdempotencyKey
) -> StatementImportOut:
    report = services.bank.import_statement(body.document.encode(), principal=caller, key=key)
    return StatementImportOut.of(report)


@router.get("/bank/statements/{org}", summary="An organization's platform cash as camt.053",
            response_class=Response, responses=XML)  # fmt: skip
def statement(
    org: Org, services: Services, caller: Caller,
    currency: Annotated[str, Query(pattern=r"^[A-Za-z]{3}$")] = "CNY",
    from_day: Annotated[date | None, Query(alias="from")] = None,
    to_day: Annotated[date | None, Query(alias="to")] = None,
) -> Response:  # fmt: skip
    document = services.bank.statement(org, principal=caller, cur=currency, from_day=from_day,
                                       to_day=to_day)  # fmt: skip
    return Response(document, media_type="application/xml")
