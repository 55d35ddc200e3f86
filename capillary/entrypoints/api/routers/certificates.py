"""Certificates and their fragments: issue, accept, cancel, list, show the visible tree,
lineage, transfer down the chain."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query

from capillary.domain.certificates import CertificateStatus
from capillary.entrypoints.api.deps import Caller, IdempotencyKey, Services
from capillary.entrypoints.api.pagination import Cursor, Id, Limit, after_id, encode, keyset
from capillary.entrypoints.api.routing import AnswerInThread
from capillary.entrypoints.api.schemas.common import Page, minor_units
from capillary.entrypoints.api.schemas.loop import (
    CancelIn,
    CertificateOut,
    CertificateTree,
    FragmentOut,
    Issued,
    IssueIn,
    Moved,
    TransferIn,
)
from capillary.services.certificates import Transfer

router = APIRouter(tags=["certificates"], route_class=AnswerInThread)


@router.post(
    "/certificates", status_code=201, summary="Issue a certificate against payables (obligor)"
)
def issue(body: IssueIn, services: Services, caller: Caller, key: IdempotencyKey) -> Issued:
    """Dated today on the platform's clock; pending until the holder accepts it."""
    face, cur = minor_units(body.face)
    made = services.certificates.issue(principal=caller, obligor=body.obligor,
                                       holder=body.holder, payable_ids=body.payable_ids,
                                       face=face, maturity=body.maturity, key=key,
                                       currency=cur)  # fmt: skip
    return Issued(certificate=CertificateOut.of(made.certificate), warnings=list(made.warnings))


@router.get("/certificates", summary="Certificates you are a party to, newest first")
def certificates(
    services: Services,
    caller: Caller,
    org: Annotated[
        str | None, Query(max_length=64, description="Whose (operator, auditors).")
    ] = None,
    status: Annotated[CertificateStatus | None, Query(description="Only in this state.")] = None,
    obligor: Annotated[
        str | None, Query(max_length=64, description="Only of this obligor.")
    ] = None,
    currency: Annotated[
        str | None, Query(pattern="^[A-Za-z]{3}$", description="Only in this currency.")
    ] = None,
    maturity_from: Annotated[date | None, Query(description="Maturing on or after.")] = None,
    maturity_to: Annotated[date | None, Query(description="Maturing on or before.")] = None,
    limit: Limit = 100,
    cursor: Cursor = None,
) -> Page[CertificateOut]:
    before = after_id(cursor) or None
    found = services.certificates.certificates(
        principal=caller, org=org, limit=limit, before=before, status=status, obligor=obligor,
        currency=currency.upper() if currency else None, maturity_from=maturity_from,
        maturity_to=maturity_to,
    )  # fmt: skip
    more = encode(str(found[-1].id)) if len(found) == limit and found else None
    return Page[CertificateOut](items=[CertificateOut.of(c) for c in found], next=more)


@router.get("/certificates/{number}", summary="A certificate and the tree you may see of it")
def certificate(number: str, services: Services, caller: Caller) -> CertificateTree:
    cert = services.certificates.certificate(number, principal=caller)
    tree = services.certificates.fragments(number, principal=caller)
    return CertificateTree(certificate=CertificateOut.of(cert),
                           fragments=[FragmentOut.of(f, cert) for f in tree])  # fmt: skip


@router.post("/certificates/{number}/accept", summary="Accept a certificate (first holder)")
def accept(number: str, services: Services, caller: Caller, key: IdempotencyKey) -> CertificateOut:
    return CertificateOut.of(services.certificates.accept(number, principal=caller, key=key))


@router.post("/certificates/{number}/cancel", summary="Cancel a pending certificate (obligor)")
def cancel(
    number: str, body: CancelIn, services: Services, caller: Caller, key: IdempotencyKey
) -> CertificateOut:
    found = services.certificates.cancel(number, principal=caller, reason=body.reason, key=key)
    return CertificateOut.of(found)


@router.get("/fragments", summary="Fragments held (yours; any holder's for the operator)")
def fragments(
    services: Services,
    caller: Caller,
    holder: Annotated[str | None, Query(max_length=64, description="Whose holdings.")] = None,
    limit: Limit = 100,
    cursor: Cursor = None,
) -> Page[FragmentOut]:
    found = services.certificates.held(holder or caller.org, principal=caller,
                                       after=after_id(cursor), limit=limit + 1)  # fmt: skip
    page, after = keyset(found, lambda fc: fc[0].id, limit)
    return Page[FragmentOut](items=[FragmentOut.of(f, c) for f, c in page], next=after)


@router.get("/fragments/{fragment_id}/lineage", summary="A fragment's path from the root")
def lineage(fragment_id: Id, services: Services, caller: Caller) -> list[FragmentOut]:
    cert = services.certificates.certificate_of(fragment_id, principal=caller)
    path = services.certificates.lineage(fragment_id, principal=caller)
    return [FragmentOut.of(f, cert) for f in path]


@router.post("/fragments/{fragment_id}/transfers", status_code=201,
             summary="Pay a supplier with (part of) a fragment you hold")  # fmt: skip
def transfer(
    fragment_id: Id, body: TransferIn, services: Services, caller: Caller, key: IdempotencyKey
) -> Moved:
    amount, _ = minor_units(body.amount)
    (moved,) = services.certificates.transfer_many(
        [Transfer(fragment_id, body.recipient, amount, body.reference)], principal=caller, key=key
    )
    cert = moved.certificate
    assert cert is not None
    return Moved(fragments=[FragmentOut.of(f, cert) for f in moved.fragments])
