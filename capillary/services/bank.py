"""Money between the platform and the banks (issue 15): bank accounts on file, payments out
as ``pain.001`` files, bank statements in as ``camt.053``, and each organization's own
``camt.053`` statement of its platform cash. The rules are in :mod:`capillary.domain.bank`;
the files in :mod:`capillary.adapters.iso20022`."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Connection

from capillary.adapters import account_repository as account_repo
from capillary.adapters import bank_repository as repo
from capillary.adapters import iso20022
from capillary.adapters import party_repository as party_repo
from capillary.adapters.clock import Clock, from_us, start_of
from capillary.adapters.database import Database
from capillary.domain.access import Act, Principal, authorize
from capillary.domain.bank import (
    BankAccount,
    DebtorAccount,
    Payment,
    Statement,
    StatementLine,
    check_bank_account,
    match_deposit,
    payment_id,
)
from capillary.domain.certificates import Certificate, Fragment
from capillary.domain.errors import (
    BankFileRefused,
    NoBankAccount,
    OrganizationNotFound,
    ValidationError,
)
from capillary.domain.ledger import Leg, Side, make_request
from capillary.domain.units import currency
from capillary.services.ledger import LedgerService
from capillary.services.loop_core import LoopService

MAX_STATEMENT_DAYS = 366


@dataclass(frozen=True, slots=True)
class PaymentFile:
    message_id: str
    currency: str
    payments: int
    total: int  # minor units
    document: bytes  # the pain.001, valid against its XSD


@dataclass(frozen=True, slots=True)
class Deposit:
    org: str
    reference: str  # the bank's
    amount: int
    currency: str
    matched: str  # "by account" or "by remittance"


@dataclass(slots=True)
class StatementImport:
    statements: int = 0
    deposits: list[Deposit] = field(default_factory=list)
    booked_payments: list[int] = field(default_factory=list)
    already: int = 0  # entries imported before: nothing done again
    unmatched: list[tuple[StatementLine, str]] = field(default_factory=list)


def queue_withdrawal(
    conn: Connection, org: str, cur: str, amount: int, reference: str, tx: int, now: int
) -> None:
    """Inside a withdrawal's unit of work: the payment to ``org``'s account on file."""
    creditor = repo.account(conn, org, cur)
    if creditor is None:
        raise NoBankAccount(f"{org} has no {cur} bank account on file, and money leaves the "
                            f"platform only to one: set it first (capillary bank "
                            f"set-account).")  # fmt: skip
    payment = Payment(0, org, cur, amount, "withdrawal", reference, creditor)
    repo.queue_payments(conn, [(payment, tx)], now)


def queue_payouts(
    loop: LoopService, conn: Connection, paid: Sequence[tuple[Certificate, list[Fragment],
                                                               dict[str, int]]],
) -> None:  # fmt: skip
    """Inside a settlement's unit of work: what each holder that sweeps was paid leaves for
    its bank account (cash → clearing), queued as a payment for the next run."""
    now = loop.clock.now_us()
    for cur in sorted({c.currency for c, _, _ in paid}):
        holders = sorted({h for c, _, p in paid if c.currency == cur for h in p})
        sweep = repo.sweeping(conn, holders, cur)
        if not sweep:
            continue
        requests, payments = [], []
        for c, _, p in paid:
            for holder, amount in sorted(p.items()):
                if c.currency != cur or holder not in sweep or amount <= 0:
                    continue
                legs = [Leg(loop._cash(conn, holder, cur), Side.DEBIT, amount),
                        Leg(loop._clearing(conn, cur), Side.CREDIT, amount)]  # fmt: skip
                ref = f"payout of {c.number} to {holder}'s bank"
                requests.append(make_request(key=f"payout:{c.number}:{holder}", legs=legs, ref=ref))
                payments.append(Payment(0, holder, cur, amount, "settlement",
                                        f"{c.number} paid at maturity", sweep[holder]))  # fmt: skip
        txs = loop._post_all(conn, requests)
        repo.queue_payments(conn, list(zip(payments, txs, strict=True)), now)


class BankService(LoopService):
    def __init__(self, db: Database, ledger: LedgerService, *, clock: Clock, timezone: str,
                 debtors: dict[str, DebtorAccount], name: str) -> None:  # fmt: skip
        super().__init__(db, ledger, clock=clock, timezone=timezone)
        self.debtors = debtors  # the platform's own bank accounts, by currency
        self.platform_name = name

    # ------------------------------------------------------------ accounts on file

    def set_account(
        self, *, principal: Principal, org: str, cur: str, number: str, holder: str,
        key: str, bic: str = "", sweep: bool = False,
    ) -> BankAccount:  # fmt: skip
        """``org``'s own bank account in ``cur``, where its money leaves to."""
        cur = currency(cur).code
        authorize(principal, Act.SET_BANK_ACCOUNT, org)
        number, bic, holder = check_bank_account(number, bic, holder)
        account = BankAccount(org, cur, number, bic, holder, sweep)

        def work(conn: Connection) -> BankAccount:
            def run() -> BankAccount:
                self._orgs(conn, org)
                repo.put_account(conn, account, self.clock.now_us())
                self._audit(conn, "bank_account", f"{org}/{cur}", "set", principal,
                            {"number": number, "bic": bic, "sweep": sweep})  # fmt: skip
                return account

            return self._once(conn, principal, key, Act.SET_BANK_ACCOUNT, account,
                              BankAccount, run)  # fmt: skip

        return self.db.transaction(work)

    def accounts(self, org: str, *, principal: Principal) -> list[BankAccount]:
        if not (principal.sees_everything or principal.org == org):
            raise OrganizationNotFound(f"No organization {org!r} whose bank accounts you may see.")
        return self.db.transaction(lambda c: repo.accounts_of(c, org), readonly=True)

    def payments(
        self, *, principal: Principal, org: str | None = None, limit: int = 100
    ) -> list[tuple[Payment, str, str]]:
        """Payments (newest first) with their status and file: an organization's own, or
        everyone's for the operator and auditors."""
        if org is None and not principal.sees_everything:
            org = principal.org
        if org != principal.org and not principal.sees_everything:
            raise OrganizationNotFound(f"No organization {org!r} whose payments you may see.")
        return self.db.transaction(lambda c: repo.payments_of(c, org, limit), readonly=True)

    # ------------------------------------------------------------ payments out

    def run_payments(self, *, principal: Principal, key: str) -> list[PaymentFile]:
        """Every queued payment sent: one pain.001 per currency's debtor account, each
        validated against its XSD before it is recorded; the same key again returns the
        same files."""
        authorize(principal, Act.RUN_PAYMENTS)
        today = self.today()
        created = from_us(self.clock.now_us()).replace(microsecond=0)

        def work(conn: Connection) -> list[str]:
            def run() -> list[str]:
                by_currency: dict[str, list[Payment]] = {}
                for p in repo.queued(conn):
                    by_currency.setdefault(p.currency, []).append(p)
                missing = sorted(set(by_currency) - set(self.debtors))
                if missing:
                    raise NoBankAccount(f"The platform has no bank account in "
                                        f"{', '.join(missing)} to pay from "
                                        "(CAPILLARY_BANK_ACCOUNTS).")  # fmt: skip
                sent = []
                for cur, payments in sorted(by_currency.items()):
                    debtor = self.debtors[cur]
                    digest = hashlib.sha256(f"{principal.org}\0{key}\0{cur}".encode()).hexdigest()
                    msg_id = f"CAP-{today:%Y%m%d}-{digest[:16].upper()}"
                    document = iso20022.pain001(msg_id, created, today, debtor,
                                                self.platform_name, payments)  # fmt: skip
                    found = iso20022.problems(document)
                    assert not found, found  # a file we wrote that its XSD refuses: our fault
                    repo.insert_file(conn, msg_id, key, cur, debtor.number, payments,
                                     document.decode(), self.clock.now_us())  # fmt: skip
                    sent.append(msg_id)
                self._audit(conn, "bank_files", key, "sent", principal, {"files": sent})
                return sent

            self._once(conn, principal, key, Act.RUN_PAYMENTS, {"run": "payments"},
                       list[str], run)  # fmt: skip
            return [f[0] for f in repo.files_of_run(conn, key)]

        self.db.transaction(work)
        files = self.db.transaction(lambda c: repo.files_of_run(c, key), readonly=True)
        return [PaymentFile(m, cur, n, total, doc.encode()) for m, cur, n, total, doc in files]

    # ------------------------------------------------------------ statements in

    def import_statement(
        self, document: bytes, *, principal: Principal, key: str
    ) -> StatementImport:
        """A bank's camt.053 of one of the platform's accounts: each credited line matched
        to an organization becomes a deposit, each of our payments seen through is marked
        booked, the rest reported. An entry is booked once, by the bank's reference: the
        same statement imported again (under another key) changes nothing; under the same
        key it answers what the first import did."""
        authorize(principal, Act.IMPORT_STATEMENT)
        statements = iso20022.read_camt053(document)
        ours = {d.number: d for d in self.debtors.values()}
        for s in statements:
            if s.account not in ours:
                theirs = ", ".join(sorted(ours))
                raise BankFileRefused(f"The statement is of account {s.account}, which is not "
                                      f"one of the platform's ({theirs}).")  # fmt: skip
        request = {"sha256": hashlib.sha256(document).hexdigest()}

        def work(conn: Connection) -> StatementImport:
            def run() -> StatementImport:
                report = StatementImport(statements=len(statements))
                by_account = repo.by_number(conn)
                orgs = set(party_repo.orgs_by_code(conn, self._named(statements)))
                now = self.clock.now_us()
                for s in statements:
                    refs = [ln.reference for ln in s.lines]
                    done = repo.booked_references(conn, s.account, refs)
                    for line in s.lines:
                        if line.reference in done:
                            report.already += 1
                        elif line.credit:
                            self._deposit(conn, s, line, by_account, orgs, report, principal,
                                          now)  # fmt: skip
                        else:
                            self._payment_seen(conn, s, line, report, now)
                return report

            return self._once(conn, principal, key, Act.IMPORT_STATEMENT, request,
                              StatementImport, run)  # fmt: skip

        return self.db.transaction(work)

    @staticmethod
    def _named(statements: list[Statement]) -> list[str]:
        words: set[str] = set()
        for s in statements:
            for line in s.lines:
                words.update(w.strip(".,;:()") for w in line.remittance.lower().split())
        return sorted(w for w in words if w)

    def _deposit(self, conn: Connection, s: Statement, line: StatementLine,
                 by_account: dict[tuple[str, str], str], orgs: set[str],
                 report: StatementImport, principal: Principal, now: int) -> None:  # fmt: skip
        org, how = match_deposit(line, by_account, orgs)
        if org is None:
            report.unmatched.append((line, how))
            return
        legs = [Leg(self._clearing(conn, line.currency), Side.DEBIT, line.amount),
                Leg(self._cash(conn, org, line.currency), Side.CREDIT, line.amount)]  # fmt: skip
        ref = f"deposit {org} (bank {line.reference})"
        tx = self._post(conn, f"camt:{s.account}:{line.reference}", legs, ref)
        repo.book_entry(conn, s.account, s.id, line.reference, line.currency, line.amount,
                        True, line.booked_on, now, org=org, ledger_tx=tx)  # fmt: skip
        self._audit(conn, "cash", f"{org}/{line.currency}", "deposit", principal,
                    {"amount": line.amount, "ref": line.reference, "matched": how})  # fmt: skip
        report.deposits.append(Deposit(org, line.reference, line.amount, line.currency, how))

    def _payment_seen(self, conn: Connection, s: Statement, line: StatementLine,
                      report: StatementImport, now: int) -> None:  # fmt: skip
        pid = payment_id(line.end_to_end)
        known = repo.payments(conn, [pid]) if pid is not None else {}
        if pid is None or pid not in known:
            report.unmatched.append((line, "a debit that is none of the platform's payments"))
            return
        payment, _ = known[pid]
        if payment.amount != line.amount or payment.currency != line.currency:
            report.unmatched.append((line, f"payment {pid} was for a different amount"))
            return
        repo.book_entry(conn, s.account, s.id, line.reference, line.currency, line.amount,
                        False, line.booked_on, now, payment_id=pid)  # fmt: skip
        report.booked_payments.append(pid)

    # ------------------------------------------------------------ an organization's statement

    def statement(
        self, org: str, *, principal: Principal, cur: str = "CNY",
        from_day: date | None = None, to_day: date | None = None,
    ) -> bytes:  # fmt: skip
        """``org``'s platform cash in ``cur`` from ``from_day`` to ``to_day`` (default: the
        month to today) as a camt.053, for its own bookkeeping: opening and closing booked
        balances and every posting, money in as credits."""
        cur = currency(cur).code
        if not (principal.sees_everything or principal.org == org):
            raise OrganizationNotFound(f"No organization {org!r} whose statement you may read.")
        today = self.today()
        to_day = to_day or today
        from_day = from_day or to_day.replace(day=1)
        if to_day > today:
            raise ValidationError(f"A statement ends on or before today ({today}).")
        if not timedelta(0) <= to_day - from_day <= timedelta(days=MAX_STATEMENT_DAYS):
            raise ValidationError(f"A statement runs forward, at most {MAX_STATEMENT_DAYS} days.")
        start = start_of(from_day, self.timezone)
        end = start_of(to_day, self.timezone) + 86_400_000_000

        def read(conn: Connection) -> Statement:
            self._orgs(conn, org)
            account = account_repo.find_account(conn, org=org, unit=cur, code="cash")
            opening, postings = (0, []) if account is None else repo.cash_lines(
                conn, account.id, start, end)  # fmt: skip
            lines, balance = [], opening
            for tx, at, side, ref, amount in postings:
                credit = side == "C"
                balance += amount if credit else -amount
                booked = from_us(at).astimezone(ZoneInfo(self.timezone))
                lines.append(StatementLine(f"CAP-TX-{tx}", amount, cur, credit, booked.date(),
                                           remittance=ref[:140]))  # fmt: skip
            ident = f"CAP{account.id if account else 0:012d}"
            return Statement(f"{ident}-{to_day:%Y%m%d}", ident, cur, opening, balance,
                             from_day, to_day, tuple(lines), org)  # fmt: skip

        stmt = self.db.transaction(read, readonly=True)
        created = from_us(self.clock.now_us()).replace(microsecond=0)
        return iso20022.camt053(f"{stmt.id}-{from_day:%Y%m%d}"[:35], created, stmt)
