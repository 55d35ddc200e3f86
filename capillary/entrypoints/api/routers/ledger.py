"""The ledger as principals reach it: accounts, balances and history (one's own; all for
the operator and auditors), verification of the journal and audit chains, reconciliation,
and the audit trail of a record."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from capillary.entrypoints.api.deps import Caller, Services
from capillary.entrypoints.api.pagination import Cursor, Id, Limit, after_id, encode, keyset, window
from capillary.entrypoints.api.routing import AnswerInThread
from capillary.entrypoints.api.schemas.common import Page, instant
from capillary.entrypoints.api.schemas.ledger import (
    AccountOut,
    AuditEntry,
    HistoryOut,
    ReconcileOut,
    VerifyOut,
    units_text,
)

router = APIRouter(tags=["ledger"], route_class=AnswerInThread)


@router.get("/ledger/accounts", summary="Ledger accounts with their balances")
def accounts(
    services: Services,
    caller: Caller,
    org: Annotated[
        str | None, Query(max_length=64, description="Whose (operator, auditors).")
    ] = None,
    unit: Annotated[str | None, Query(max_length=64, description="Only in this unit.")] = None,
    limit: Limit = 100,
    cursor: Cursor = None,
) -> Page[AccountOut]:
    found = services.books.accounts(principal=caller, org=org, unit=unit,
                                    after=after_id(cursor), limit=limit + 1)  # fmt: skip
    page, after = keyset(found, lambda ab: ab[0].id, limit)
    return Page[AccountOut](items=[AccountOut.of(a, b) for a, b in page], next=after)


@router.get("/ledger/accounts/{account_id}", summary="One account and its balance")
def account(account_id: Id, services: Services, caller: Caller) -> AccountOut:
    found = services.books.account(account_id, principal=caller)
    return AccountOut.of(found, services.books.balance(account_id, principal=caller))


@router.get("/ledger/accounts/{account_id}/history", summary="An account's postings, newest first")
def history(
    account_id: Id, services: Services, caller: Caller, limit: Limit = 100, cursor: Cursor = None
) -> Page[HistoryOut]:
    found = services.books.account(account_id, principal=caller)
    before = after_id(cursor) or None
    lines = services.books.history(account_id, principal=caller, limit=limit, before_id=before)
    items = [HistoryOut(transaction_id=h.transaction_id, kind=h.kind.value,
                        posted_at=instant(h.posted_at), reference=h.ref, side=h.side.value,
                        amount=units_text(h.amount, found.unit)) for h in lines]  # fmt: skip
    more = encode(str(lines[-1].transaction_id)) if len(lines) == limit and lines else None
    return Page[HistoryOut](items=items, next=more)


@router.get("/ledger/verify", summary="Verify the journal's and the audit trail's hash chains")
def verify(services: Services, caller: Caller) -> VerifyOut:
    """For the operator and auditors: every sealed entry re-hashed and chained."""
    report = services.books.verify(principal=caller)
    audit, audit_unsealed = services.books.verify_audit(principal=caller)
    return VerifyOut(
        ok=report.ok and not audit, entries=report.entries, head_seq=report.head_seq,
        head_hash=report.head_hash.hex(), unsealed=report.unsealed,
        findings=[{"kind": f.kind, "seq": f.seq, "transaction_id": f.transaction_id,
                   "message": f.message} for f in report.findings],
        audit_findings=[{"kind": f.kind, "seq": f.seq, "message": f.message} for f in audit],
        audit_unsealed=audit_unsealed,
    )  # fmt: skip


@router.get("/ledger/reconciliation", summary="The books beyond the journal, reconciled")
def reconciliation(services: Services, caller: Caller) -> ReconcileOut:
    found = services.books.reconcile(principal=caller)
    return ReconcileOut(ok=not found, findings=[
        {"kind": f.kind, "subject": f.subject, "message": f.message} for f in found
    ])  # fmt: skip


@router.get("/audit", summary="Every recorded change of one record you may see")
def audit(
    services: Services,
    caller: Caller,
    entity: Annotated[str, Query(max_length=40, examples=["order"])],
    key: Annotated[str, Query(max_length=300, examples=["core/PO-2026-0001"])],
    limit: Limit = 100,
    cursor: Cursor = None,
) -> Page[AuditEntry]:
    found = list(enumerate(services.trade.audit(entity, key, principal=caller), 1))
    page, after = window(found, lambda nr: nr[0], cursor, limit)
    return Page[AuditEntry](items=[AuditEntry(action=r["action"], actor=r["actor"],
                                              at=instant(r["at"]), detail=r["detail"])
                                   for _, r in page], next=after)  # fmt: skip
