"""The digitized trade: orders, deliveries, invoices (one by one or imported from a file),
their three-way match, and the payables a buyer confirms."""

from __future__ import annotations

import tempfile
from datetime import date
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, File, Form, Query, UploadFile

from capillary.domain.errors import InvalidFile
from capillary.domain.imports import quantity
from capillary.domain.payables import PayableStatus
from capillary.domain.trade import InvoiceStatus
from capillary.entrypoints.api.deps import Caller, IdempotencyKey, Services
from capillary.entrypoints.api.pagination import Cursor, Id, Limit, after_id, encode
from capillary.entrypoints.api.routing import AnswerInThread
from capillary.entrypoints.api.schemas.common import Page, minor_units
from capillary.entrypoints.api.schemas.trade import (
    ConfirmIn,
    DeliveryAcceptance,
    DeliveryIn,
    DeliveryOut,
    ImportOut,
    InvoiceIn,
    InvoiceOut,
    MatchIn,
    MatchOut,
    OrderIn,
    OrderOut,
    PayableOut,
    Reason,
    ReduceIn,
    RowProblem,
    record,
)
from capillary.services.imports import Kind

router = APIRouter(tags=["trade"], route_class=AnswerInThread)

Org = Annotated[
    str | None, Query(max_length=64, description="Only those with this counterparty or party.")
]
Code = Annotated[str | None, Query(max_length=20, description="The invoice's fapiao code.")]
Since = Annotated[date | None, Query(description="Dated on or after (the document's date).")]
Until = Annotated[date | None, Query(description="Dated on or before (the document's date).")]
#: The largest import file taken over HTTP (larger ones: the CLI, streamed from disk).
MAX_UPLOAD = 256 * 1024 * 1024


def _before(cursor: str | None) -> int | None:
    """Newest-first lists page backwards: the id the previous page ended at."""
    after = after_id(cursor)
    return after or None


def _next(items: list[int], limit: int) -> str | None:
    return encode(str(items[-1])) if len(items) == limit and items else None


# ---------------------------------------------------------------- orders


@router.post("/orders", status_code=201, summary="Place a purchase order (the buyer)")
def create_order(
    body: OrderIn, services: Services, caller: Caller, key: IdempotencyKey
) -> OrderOut:
    order = services.imports.document(Kind.ORDERS, record(body), principal=caller, key=key)
    return OrderOut.of(order)


@router.get("/orders", summary="Purchase orders you are a party to, newest first")
def orders(
    services: Services, caller: Caller, org: Org = None, since: Since = None,
    until: Until = None, limit: Limit = 100, cursor: Cursor = None,
) -> Page[OrderOut]:  # fmt: skip
    found = services.trade.orders(principal=caller, org=org, limit=limit, before=_before(cursor),
                                  since=since, until=until)  # fmt: skip
    return Page[OrderOut](items=[OrderOut.of(o) for o in found],
                          next=_next([o.id for o in found], limit))  # fmt: skip


@router.get("/orders/{buyer}/{number}", summary="One purchase order")
def order(buyer: str, number: str, services: Services, caller: Caller) -> OrderOut:
    return OrderOut.of(services.trade.order(buyer, number, principal=caller))


@router.post("/orders/{buyer}/{number}/cancel", summary="Cancel a purchase order (the buyer)")
def cancel_order(
    buyer: str, number: str, body: Reason, services: Services, caller: Caller,
    key: IdempotencyKey,
) -> OrderOut:  # fmt: skip
    found = services.trade.cancel_order(buyer, number, reason=body.reason, principal=caller,
                                        key=key)  # fmt: skip
    return OrderOut.of(found)


# ---------------------------------------------------------------- deliveries


@router.post("/deliveries", status_code=201, summary="Record a delivery (the supplier)")
def record_delivery(
    body: DeliveryIn, services: Services, caller: Caller, key: IdempotencyKey
) -> DeliveryOut:
    found = services.imports.document(Kind.DELIVERIES, record(body), principal=caller, key=key)
    return DeliveryOut.of(found)


@router.get("/deliveries", summary="Deliveries you are a party to, newest first")
def deliveries(
    services: Services, caller: Caller, org: Org = None, since: Since = None,
    until: Until = None, limit: Limit = 100, cursor: Cursor = None,
) -> Page[DeliveryOut]:  # fmt: skip
    found = services.trade.deliveries(principal=caller, org=org, limit=limit,
                                      before=_before(cursor), since=since,
                                      until=until)  # fmt: skip
    return Page[DeliveryOut](items=[DeliveryOut.of(d) for d in found],
                             next=_next([d.id for d in found], limit))  # fmt: skip


@router.get("/deliveries/{supplier}/{number}", summary="One delivery")
def delivery(supplier: str, number: str, services: Services, caller: Caller) -> DeliveryOut:
    return DeliveryOut.of(services.trade.delivery(supplier, number, principal=caller))


@router.post(
    "/deliveries/{supplier}/{number}/accept", summary="Accept a delivery, wholly or by line (buyer)"
)
def accept_delivery(
    supplier: str, number: str, body: DeliveryAcceptance, services: Services, caller: Caller,
    key: IdempotencyKey,
) -> DeliveryOut:  # fmt: skip
    accepted = None
    if body.lines is not None:
        accepted = {ln.order_line_no: quantity(ln.accepted, "accepted") for ln in body.lines}
    found = services.trade.accept_delivery(supplier, number, accepted=accepted,
                                           principal=caller, key=key)  # fmt: skip
    return DeliveryOut.of(found)


# ---------------------------------------------------------------- invoices


@router.post("/invoices", status_code=201, summary="Send an invoice (the seller)")
def receive_invoice(
    body: InvoiceIn, services: Services, caller: Caller, key: IdempotencyKey
) -> InvoiceOut:
    found = services.imports.document(Kind.INVOICES, record(body), principal=caller, key=key)
    return InvoiceOut.of(found)


@router.get("/invoices", summary="Invoices you are a party to, newest first")
def invoices(
    services: Services,
    caller: Caller,
    org: Org = None,
    status: Annotated[InvoiceStatus | None, Query(description="Only those in this state.")] = None,
    since: Since = None,
    until: Until = None,
    limit: Limit = 100,
    cursor: Cursor = None,
) -> Page[InvoiceOut]:
    found = services.trade.invoices(principal=caller, org=org, status=status, limit=limit,
                                    before=_before(cursor), since=since,
                                    until=until)  # fmt: skip
    return Page[InvoiceOut](items=[InvoiceOut.of(i) for i in found],
                            next=_next([i.id for i in found], limit))  # fmt: skip


@router.get("/invoices/{seller}/{number}", summary="One invoice")
def invoice(
    seller: str, number: str, services: Services, caller: Caller, code: Code = None
) -> InvoiceOut:
    return InvoiceOut.of(services.trade.invoice(seller, code, number, principal=caller))


@router.post("/invoices/match", summary="Match your open invoices to orders and deliveries (buyer)")
def match(body: MatchIn, services: Services, caller: Caller, key: IdempotencyKey) -> list[MatchOut]:
    found = services.trade.match(principal=caller, key=key, invoice_ids=body.invoice_ids)
    return [MatchOut.of(i, m) for i, m in sorted(found.items())]


@router.post(
    "/invoices/{seller}/{number}/confirm",
    status_code=201,
    summary="Confirm an invoice: it becomes a payable (the buyer)",
)
def confirm_invoice(
    seller: str, number: str, body: ConfirmIn, services: Services, caller: Caller,
    key: IdempotencyKey, code: Code = None,
) -> PayableOut:  # fmt: skip
    found = services.trade.confirm_invoice(
        seller, code, number, due_date=body.due_date, override_reason=body.override_reason,
        principal=caller, key=key,
    )  # fmt: skip
    return PayableOut.of(found)


# ---------------------------------------------------------------- payables


@router.get("/payables", summary="Payables you owe or are owed, newest first")
def payables(
    services: Services,
    caller: Caller,
    org: Org = None,
    status: Annotated[PayableStatus | None, Query(description="open or closed.")] = None,
    due_from: Annotated[date | None, Query(description="Due on or after.")] = None,
    due_to: Annotated[date | None, Query(description="Due on or before.")] = None,
    limit: Limit = 100,
    cursor: Cursor = None,
) -> Page[PayableOut]:
    found = services.trade.payables(principal=caller, org=org, limit=limit,
                                    before=_before(cursor), status=status, due_from=due_from,
                                    due_to=due_to)  # fmt: skip
    return Page[PayableOut](items=[PayableOut.of(p) for p in found],
                            next=_next([p.id for p in found], limit))  # fmt: skip


@router.get("/payables/{payable_id}", summary="One payable")
def payable(payable_id: Id, services: Services, caller: Caller) -> PayableOut:
    return PayableOut.of(services.trade.payable(payable_id, principal=caller))


@router.post("/payables/{payable_id}/reduce", summary="Acknowledge a payment outside (supplier)")
def reduce_payable(
    payable_id: Id, body: ReduceIn, services: Services, caller: Caller, key: IdempotencyKey
) -> PayableOut:
    amount, _ = minor_units(body.amount)
    found = services.trade.reduce_payable(payable_id, amount, why=body.why, principal=caller,
                                          key=key)  # fmt: skip
    return PayableOut.of(found)


# ---------------------------------------------------------------- imports


@router.post(
    "/imports/{kind}",
    summary="Import a CSV or JSON file of documents (the same rows and errors as the CLI)",
)
def import_file(
    kind: Kind,
    services: Services,
    caller: Caller,
    key: IdempotencyKey,
    file: Annotated[UploadFile, File(description="A .csv or .json file (UTF-8 or GB18030).")],
    encoding: Annotated[str | None, Form(max_length=20)] = None,
) -> ImportOut:
    """Each chunk of 20,000 records is one unit of work under the key and its number, so a
    retried upload replays what was done. Refused rows are listed (the first 1,000)."""
    name = file.filename or "upload"
    suffix = Path(name).suffix.lower()
    if suffix not in (".csv", ".json"):
        raise InvalidFile(f"{name!r} is neither .csv nor .json.")
    with tempfile.NamedTemporaryFile(suffix=suffix) as spool:
        size = 0
        while chunk := file.file.read(1 << 20):
            size += len(chunk)
            if size > MAX_UPLOAD:
                raise InvalidFile("An upload is at most 256 MB; import larger files with the CLI.")
            spool.write(chunk)
        spool.flush()
        report = services.imports.run_file(kind, Path(spool.name), principal=caller, key=key,
                                           encoding=encoding)  # fmt: skip
    return ImportOut(
        kind=report.kind.value, records=report.records, created=report.created,
        unchanged=report.unchanged, refused=report.refused,
        refused_documents=report.refused_documents,
        errors=[RowProblem(row=e.row, field=e.field, reason=e.reason, code=e.code)
                for e in report.errors],
    )  # fmt: skip
