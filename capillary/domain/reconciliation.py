"""The books beyond the journal: what the platform's records must agree on, and the named
findings when they do not. Pure: it compares totals loaded in bulk (see
:mod:`capillary.adapters.reconciliation_queries`); a finding says what disagrees, by how
much, in major units with the unit.

- ``holdings_mismatch``: per certificate unit and organization, the live fragments it holds
  against its ``held`` account in the ledger.
- ``issued_mismatch``: a live certificate's ``issued`` account carries its face, a settled
  or cancelled one nothing.
- ``credit_mismatch``: a funder's credit used on an obligor against the face of that
  obligor's live fragments it holds.
- ``payable_overdrawn``: a payable whose certificates took more than its open amount lets
  go (certificates issued against it, not cancelled, beyond ``amount − open``).
- ``cash_mismatch``: per currency, what the platform owes organizations (cash and fees)
  against its clearing account (money in its bank).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from capillary.domain.units import ISO_4217, format_minor

Key2 = tuple[str, str]
Key3 = tuple[str, str, str]


@dataclass(frozen=True, slots=True)
class Finding:
    kind: str
    subject: str  # what disagrees: an account as org:code:unit, a certificate, a payable
    message: str


@dataclass(frozen=True, slots=True)
class Books:
    """Totals loaded from the store, each keyed as its comment says."""

    fragments_held: Mapping[Key2, int]  # (unit, holder) → live fragments' amounts
    held_accounts: Mapping[Key2, int]  # (unit, org) → net debit of org:held:unit
    live_faces: Mapping[str, int]  # unit → face, for active and overdue certificates
    issued_accounts: Mapping[str, int]  # unit → net credit of the obligor's issued account
    credit_used: Mapping[Key3, int]  # (funder, obligor, currency) → used on the line
    funder_holdings: Mapping[Key3, int]  # (holder, obligor, currency) → live fragments
    payables: Mapping[int, tuple[str, int, int]]  # id → (currency, amount − open, allocated)
    cash_owed: Mapping[str, int]  # currency → net credit of every cash and fees account
    clearing: Mapping[str, int]  # currency → net debit of platform:clearing


def _amount(amount: int, unit: str, currency: str | None = None) -> str:
    exponent = ISO_4217.get(currency or unit, 2)
    return f"{format_minor(amount, exponent)} {currency or unit}"


def reconcile(books: Books, currency_of: Mapping[str, str]) -> list[Finding]:
    """Every disagreement between the records; ``currency_of`` maps a certificate unit to
    its currency (for amounts in messages)."""
    findings: list[Finding] = []
    for unit, org in sorted(set(books.fragments_held) | set(books.held_accounts)):
        frags = books.fragments_held.get((unit, org), 0)
        held = books.held_accounts.get((unit, org), 0)
        if frags != held:
            cur = currency_of.get(unit)
            findings.append(Finding(
                "holdings_mismatch", f"{org}:held:{unit}",
                f"{org} holds fragments of {_amount(frags, unit, cur)} of {unit} but its "
                f"account {org}:held:{unit} carries {_amount(held, unit, cur)}.",
            ))  # fmt: skip
    for unit in sorted(set(books.live_faces) | set(books.issued_accounts)):
        face = books.live_faces.get(unit, 0)
        issued = books.issued_accounts.get(unit, 0)
        if face != issued:
            cur = currency_of.get(unit)
            findings.append(Finding(
                "issued_mismatch", unit,
                f"{unit} is outstanding for {_amount(face, unit, cur)} but its issued account "
                f"carries {_amount(issued, unit, cur)}.",
            ))  # fmt: skip
    for funder, obligor, cur in sorted(books.credit_used):
        used = books.credit_used[(funder, obligor, cur)]
        holds = books.funder_holdings.get((funder, obligor, cur), 0)
        if used != holds:
            findings.append(Finding(
                "credit_mismatch", f"{funder}>{obligor}/{cur}",
                f"{funder}'s credit line to {obligor} shows {_amount(used, cur)} used, but it "
                f"holds {_amount(holds, cur)} of {obligor}'s certificates.",
            ))  # fmt: skip
    for payable_id, (cur, taken, allocated) in sorted(books.payables.items()):
        if allocated > taken:
            findings.append(Finding(
                "payable_overdrawn", f"payable {payable_id}",
                f"Certificates took {_amount(allocated, cur)} from payable {payable_id}, but "
                f"its open amount went down by only {_amount(taken, cur)}.",
            ))  # fmt: skip
    for cur in sorted(set(books.cash_owed) | set(books.clearing)):
        owed = books.cash_owed.get(cur, 0)
        bank = books.clearing.get(cur, 0)
        if owed != bank:
            findings.append(Finding(
                "cash_mismatch", f"platform:clearing:{cur}",
                f"Organizations are owed {_amount(owed, cur)} in cash and fees, but the "
                f"platform's clearing account holds {_amount(bank, cur)}.",
            ))  # fmt: skip
    return findings
