"""Money between the platform and the banks (issue 15): the accounts money leaves to, the
payments a run sends, the lines of a bank statement, and how a line is matched to the
organization it is for.

- An organization keeps **one bank account per currency on file**: its number (an IBAN, or
  the bank's own account number), its bank's BIC when there is one, the holder's name,
  and whether settlement proceeds are paid straight out to it (``sweep``). Money leaves
  the platform only to an account on file.
- A **payment** is queued in the same unit of work as the ledger moves the money to the
  clearing account: a withdrawal the organization asked for, or a settlement payout swept
  out. A payment run sends every queued payment in ``pain.001`` files, one per debtor
  account (the platform's own bank account in that currency); its end-to-end id comes back
  on the bank statement, which marks it booked.
- A **statement line** credited to the platform's account is a deposit when it can be
  matched: by the account it came from (on file for exactly one organization), else by an
  organization's code written as a word in its remittance information. Both present and
  disagreeing, or neither: the line is unmatched and reported, never guessed.

Pure: no XML here (``adapters/iso20022.py`` writes and reads the files)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from stdnum import bic as bic_code
from stdnum import iban

from capillary.domain.errors import ValidationError

_OTHER = re.compile(r"[A-Za-z0-9][A-Za-z0-9/\-?:().,' +]{0,33}")
_WORD = re.compile(r"[a-z0-9][a-z0-9-]*[a-z0-9]")
END_TO_END_PREFIX = "CAPILLARY-P"


@dataclass(frozen=True, slots=True)
class BankAccount:
    org: str
    currency: str
    number: str  # an IBAN (compact, upper case) or the bank's own account number
    bic: str  # "" when the bank has none on file
    holder: str
    sweep: bool  # settlement proceeds paid straight out to it

    @property
    def is_iban(self) -> bool:
        return iban.is_valid(self.number)


def check_bank_account(number: str, bic: str, holder: str) -> tuple[str, str, str]:
    """The account number, BIC and holder's name as stored, or a refusal naming the field."""
    number, bic, holder = number.strip(), bic.strip().upper(), " ".join(holder.split())
    compact = iban.compact(number)
    if re.fullmatch(r"[A-Z]{2}[0-9]{2}[A-Z0-9]+", compact):
        if not iban.is_valid(compact):
            raise ValidationError(f"{number!r} looks like an IBAN but its check digits are "
                                  "wrong.")  # fmt: skip
        number = compact
    elif not _OTHER.fullmatch(number):
        raise ValidationError(f"A bank account number is an IBAN or 1 to 34 letters, digits "
                              f"and - / ? : ( ) . , ' + or spaces; got {number!r}.")  # fmt: skip
    if bic and not bic_code.is_valid(bic):
        raise ValidationError(f"{bic!r} is not a BIC (8 or 11 characters, ISO 9362).")
    if not 1 <= len(holder) <= 140:
        raise ValidationError("The account holder's name is 1 to 140 characters.")
    return number, bic, holder


@dataclass(frozen=True, slots=True)
class Payment:
    id: int
    org: str
    currency: str
    amount: int  # minor units
    kind: str  # "withdrawal" or "settlement"
    reference: str  # what the creditor reads on its statement
    creditor: BankAccount  # as on file when the payment was queued

    @property
    def end_to_end(self) -> str:
        return f"{END_TO_END_PREFIX}{self.id:012d}"


def payment_id(end_to_end: str) -> int | None:
    """The payment an end-to-end id names, if it is one of ours."""
    if end_to_end.startswith(END_TO_END_PREFIX) and end_to_end[len(END_TO_END_PREFIX) :].isdigit():
        return int(end_to_end[len(END_TO_END_PREFIX) :])
    return None


@dataclass(frozen=True, slots=True)
class DebtorAccount:
    """The platform's own account at a bank, in one currency: what payments leave from and
    what statements are of."""

    currency: str
    number: str
    bic: str
    name: str


def parse_debtor_accounts(text: str, name: str) -> dict[str, DebtorAccount]:
    """``CUR:NUMBER:BIC`` entries separated by ``;`` (the setting), by currency."""
    found: dict[str, DebtorAccount] = {}
    for part in filter(None, (p.strip() for p in text.split(";"))):
        try:
            cur, number, bic = part.split(":")
        except ValueError:
            raise ValidationError(
                f"A platform bank account is CUR:NUMBER:BIC; got {part!r}."
            ) from None
        number, bic, name = check_bank_account(number, bic, name)
        found[cur.strip().upper()] = DebtorAccount(cur.strip().upper(), number, bic, name)
    return found


@dataclass(frozen=True, slots=True)
class StatementLine:
    """One entry of a bank statement, as much of it as matching and booking need."""

    reference: str  # the bank's own reference for the entry (AcctSvcrRef), unique per account
    amount: int  # minor units, > 0
    currency: str
    credit: bool  # money in (CRDT) or out (DBIT)
    booked_on: date
    end_to_end: str = ""
    counterparty_account: str = ""  # the debtor's account for money in, the creditor's for out
    counterparty_name: str = ""
    remittance: str = ""


@dataclass(frozen=True, slots=True)
class Statement:
    id: str
    account: str  # the account the statement is of
    currency: str
    opening: int  # signed, minor units: credit balance positive
    closing: int
    from_day: date
    to_day: date
    lines: tuple[StatementLine, ...]
    owner: str = ""


def match_deposit(
    line: StatementLine, by_account: dict[tuple[str, str], str], orgs: set[str]
) -> tuple[str | None, str]:
    """The organization a credited line is for, and why (or why none)."""
    number = iban.compact(line.counterparty_account) if line.counterparty_account else ""
    by_number = by_account.get((number, line.currency))
    named = sorted({w for w in _WORD.findall(line.remittance.lower()) if w in orgs})
    if len(named) > 1:
        return None, f"its remittance names {len(named)} organizations ({', '.join(named)})"
    by_name = named[0] if named else None
    if by_number and by_name and by_number != by_name:
        return None, (f"it came from {by_number}'s account but its remittance names "
                      f"{by_name}")  # fmt: skip
    org = by_number or by_name
    if org is None:
        return None, "neither its account nor its remittance names an organization"
    return org, "by account" if by_number else "by remittance"
