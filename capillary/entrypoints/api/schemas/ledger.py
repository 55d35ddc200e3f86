"""Shapes of the ledger: accounts, balances, history, verification, the audit trail."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from capillary.domain.ledger import Account, Balance
from capillary.domain.units import ISO_4217, format_minor
from capillary.entrypoints.api.schemas.common import Shape, instant


def units_text(amount: int, unit: str) -> str:
    """An amount of any ledger unit: major units of a currency, minor units of a
    certificate's own unit (whose exponent is its currency's)."""
    exponent = ISO_4217.get(unit)
    return str(amount) if exponent is None else format_minor(amount, exponent).replace(",", "")


class BalanceOut(Shape):
    unit: str
    debits_posted: str
    credits_posted: str
    debits_pending: str
    credits_pending: str
    net_debit: str
    net_credit: str

    @classmethod
    def of(cls, b: Balance, unit: str) -> BalanceOut:
        t = units_text
        return cls(unit=unit, debits_posted=t(b.debits_posted, unit),
                   credits_posted=t(b.credits_posted, unit),
                   debits_pending=t(b.debits_pending, unit),
                   credits_pending=t(b.credits_pending, unit), net_debit=t(b.net_debit, unit),
                   net_credit=t(b.net_credit, unit))  # fmt: skip


class AccountOut(Shape):
    id: int
    org: str
    unit: str
    type: str
    code: str
    constraint: str
    created_at: datetime
    balance: BalanceOut | None = None

    @classmethod
    def of(cls, a: Account, balance: Balance | None = None) -> AccountOut:
        return cls(id=a.id, org=a.org, unit=a.unit, type=a.type, code=a.code,
                   constraint=a.constraint.value, created_at=instant(a.created_at),
                   balance=None if balance is None else BalanceOut.of(balance, a.unit))  # fmt: skip


class HistoryOut(Shape):
    transaction_id: int
    kind: str
    posted_at: datetime
    reference: str | None
    side: str
    amount: str


class VerifyOut(Shape):
    ok: bool
    entries: int
    head_seq: int
    head_hash: str
    unsealed: int
    findings: list[dict[str, Any]]
    audit_findings: list[dict[str, Any]]
    audit_unsealed: int


class ReconcileOut(Shape):
    ok: bool
    findings: list[dict[str, str]]


class AuditEntry(Shape):
    action: str
    actor: str
    at: datetime
    detail: Any
