"""ISO 20022 files, written and read with lxml and validated against the official XSDs
shipped in ``schemas/`` (see ``schemas/SOURCES.md``): ``pain.001.001.09`` (customer credit
transfer initiation) for payments out, ``camt.053.001.08`` (bank-to-customer statement)
for statements in and for each organization's own statement of its platform cash."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

from lxml import etree
from stdnum import iban

from capillary.domain.bank import DebtorAccount, Payment, Statement, StatementLine
from capillary.domain.errors import BankFileRefused, CapillaryError
from capillary.domain.units import currency

PAIN = "urn:iso:std:iso:20022:tech:xsd:pain.001.001.09"
CAMT = "urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"
_SCHEMAS = Path(__file__).parent / "schemas"
_FILES = {PAIN: "pain.001.001.09.xsd", CAMT: "camt.053.001.08.xsd"}
MAX_BYTES = 50 * 1024 * 1024


@cache
def _schema(namespace: str) -> Any:
    return etree.XMLSchema(etree.parse(str(_SCHEMAS / _FILES[namespace])))


def problems(document: bytes) -> list[str]:
    """What the XSD of the document's own namespace finds wrong with it (nothing: valid)."""
    root = _parse(document)
    namespace = etree.QName(root).namespace
    if namespace not in _FILES:
        return [f"not a pain.001.001.09 or camt.053.001.08 document (namespace {namespace})"]
    schema = _schema(namespace)
    try:
        if schema.validate(root):
            return []
    except etree.XMLSchemaValidateError as exc:
        return [f"it could not be validated: {exc}"]
    return [f"line {e.line}: {e.message}" for e in schema.error_log]


def _parse(document: bytes) -> Any:
    if len(document) > MAX_BYTES:
        raise BankFileRefused(f"A bank file is at most {MAX_BYTES // 1024 // 1024} MiB.")
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False,
                             remove_blank_text=True)  # fmt: skip
    try:
        root = etree.fromstring(document, parser)
    except etree.XMLSyntaxError as exc:
        raise BankFileRefused(f"The file is not well-formed XML: {exc}.") from exc
    if root.getroottree().docinfo.doctype:  # entities and the like: no bank file has one
        raise BankFileRefused("The file declares a document type (DOCTYPE); an ISO 20022 "
                              "file does not, and it is not read.")  # fmt: skip
    return root


def _amount(minor: int, cur: str) -> str:
    exponent = currency(cur).exponent
    return f"{Decimal(minor).scaleb(-exponent):.{exponent}f}"


class _Builder:
    def __init__(self, namespace: str) -> None:
        self.ns = namespace

    def el(self, parent: Any, tag: str, text: str | None = None, **attrs: str) -> Any:
        node = etree.SubElement(parent, f"{{{self.ns}}}{tag}", attrs)
        if text is not None:
            node.text = text
        return node

    def account(self, parent: Any, tag: str, number: str, is_iban: bool) -> Any:
        acct = self.el(parent, tag)
        ident = self.el(acct, "Id")
        if is_iban:
            self.el(ident, "IBAN", number)
        else:
            self.el(self.el(ident, "Othr"), "Id", number)
        return acct

    def agent(self, parent: Any, tag: str, bic: str) -> None:
        fin = self.el(self.el(parent, tag), "FinInstnId")
        if bic:
            self.el(fin, "BICFI", bic)


def _iban(number: str) -> bool:
    return bool(iban.is_valid(number))


def _bytes(root: Any) -> bytes:
    data: bytes = etree.tostring(root, xml_declaration=True, encoding="UTF-8",
                                 pretty_print=True)  # fmt: skip
    return data


def pain001(
    msg_id: str, created: datetime, execute_on: date, debtor: DebtorAccount, initiator: str,
    payments: Sequence[Payment],
) -> bytes:  # fmt: skip
    """A credit transfer initiation: ``payments`` from ``debtor``, all in its currency."""
    b = _Builder(PAIN)
    root = etree.Element(f"{{{PAIN}}}Document", nsmap={None: PAIN})
    body = b.el(root, "CstmrCdtTrfInitn")
    total = _amount(sum(p.amount for p in payments), debtor.currency)
    header = b.el(body, "GrpHdr")
    b.el(header, "MsgId", msg_id)
    b.el(header, "CreDtTm", created.isoformat(timespec="seconds"))
    b.el(header, "NbOfTxs", str(len(payments)))
    b.el(header, "CtrlSum", total)
    b.el(b.el(header, "InitgPty"), "Nm", initiator[:140])
    info = b.el(body, "PmtInf")
    b.el(info, "PmtInfId", msg_id)
    b.el(info, "PmtMtd", "TRF")
    b.el(info, "BtchBookg", "false")  # one entry per payment on the statement
    b.el(info, "NbOfTxs", str(len(payments)))
    b.el(info, "CtrlSum", total)
    b.el(b.el(info, "ReqdExctnDt"), "Dt", execute_on.isoformat())
    b.el(b.el(info, "Dbtr"), "Nm", debtor.name[:140])
    b.account(info, "DbtrAcct", debtor.number, _iban(debtor.number))
    b.agent(info, "DbtrAgt", debtor.bic)
    for p in payments:
        tx = b.el(info, "CdtTrfTxInf")
        ids = b.el(tx, "PmtId")
        b.el(ids, "InstrId", p.end_to_end)
        b.el(ids, "EndToEndId", p.end_to_end)
        b.el(b.el(tx, "Amt"), "InstdAmt", _amount(p.amount, p.currency), Ccy=p.currency)
        if p.creditor.bic:
            b.agent(tx, "CdtrAgt", p.creditor.bic)
        b.el(b.el(tx, "Cdtr"), "Nm", p.creditor.holder[:140])
        b.account(tx, "CdtrAcct", p.creditor.number, p.creditor.is_iban)
        b.el(b.el(tx, "RmtInf"), "Ustrd", p.reference[:140])
    return _bytes(root)


def _balance(b: _Builder, stmt: Any, code: str, amount: int, cur: str, on: date) -> None:
    bal = b.el(stmt, "Bal")
    b.el(b.el(b.el(bal, "Tp"), "CdOrPrtry"), "Cd", code)
    b.el(bal, "Amt", _amount(abs(amount), cur), Ccy=cur)
    b.el(bal, "CdtDbtInd", "CRDT" if amount >= 0 else "DBIT")
    b.el(b.el(bal, "Dt"), "Dt", on.isoformat())


def camt053(msg_id: str, created: datetime, statement: Statement) -> bytes:
    """A bank-to-customer statement of one account."""
    b = _Builder(CAMT)
    root = etree.Element(f"{{{CAMT}}}Document", nsmap={None: CAMT})
    body = b.el(root, "BkToCstmrStmt")
    header = b.el(body, "GrpHdr")
    b.el(header, "MsgId", msg_id)
    b.el(header, "CreDtTm", created.isoformat(timespec="seconds"))
    stmt = b.el(body, "Stmt")
    b.el(stmt, "Id", statement.id)
    b.el(stmt, "CreDtTm", created.isoformat(timespec="seconds"))
    period = b.el(stmt, "FrToDt")
    b.el(period, "FrDtTm", f"{statement.from_day.isoformat()}T00:00:00")
    b.el(period, "ToDtTm", f"{statement.to_day.isoformat()}T23:59:59")
    acct = b.account(stmt, "Acct", statement.account, _iban(statement.account))
    b.el(acct, "Ccy", statement.currency)
    if statement.owner:
        b.el(b.el(acct, "Ownr"), "Nm", statement.owner[:140])
    _balance(b, stmt, "OPBD", statement.opening, statement.currency, statement.from_day)
    _balance(b, stmt, "CLBD", statement.closing, statement.currency, statement.to_day)
    for line in statement.lines:
        entry = b.el(stmt, "Ntry")
        b.el(entry, "NtryRef", line.reference)
        b.el(entry, "Amt", _amount(line.amount, line.currency), Ccy=line.currency)
        b.el(entry, "CdtDbtInd", "CRDT" if line.credit else "DBIT")
        b.el(b.el(entry, "Sts"), "Cd", "BOOK")
        b.el(b.el(entry, "BookgDt"), "Dt", line.booked_on.isoformat())
        b.el(b.el(entry, "ValDt"), "Dt", line.booked_on.isoformat())
        b.el(entry, "AcctSvcrRef", line.reference)
        b.el(b.el(b.el(entry, "BkTxCd"), "Prtry"), "Cd", "RCDT" if line.credit else "ICDT")
        tx = b.el(b.el(entry, "NtryDtls"), "TxDtls")
        refs = b.el(tx, "Refs")
        b.el(refs, "AcctSvcrRef", line.reference)
        b.el(refs, "EndToEndId", line.end_to_end or "NOTPROVIDED")
        if line.counterparty_account or line.counterparty_name:
            parties = b.el(tx, "RltdPties")
            side = "Dbtr" if line.credit else "Cdtr"
            if line.counterparty_name:
                b.el(b.el(b.el(parties, side), "Pty"), "Nm", line.counterparty_name[:140])
            if line.counterparty_account:
                b.account(parties, f"{side}Acct", line.counterparty_account,
                          _iban(line.counterparty_account))  # fmt: skip
        if line.remittance:
            b.el(b.el(tx, "RmtInf"), "Ustrd", line.remittance[:140])
    return _bytes(root)


def _text(node: Any, path: str) -> str:
    found = node.find(path, {"c": CAMT})
    return "" if found is None or found.text is None else str(found.text).strip()


def _minor(text: str, cur: str | None, what: str) -> int:
    try:
        exponent = currency(cur or "").exponent
    except CapillaryError:
        raise BankFileRefused(f"{what} is in {cur!r}, not a currency Capillary knows.") from None
    try:
        minor = Decimal(text).scaleb(exponent)
    except ArithmeticError:
        raise BankFileRefused(f"{what} {text!r} is not an amount.") from None
    if minor != minor.to_integral_value() or minor < 0:
        raise BankFileRefused(f"{what} {text} {cur} has more decimals than {cur} has.")
    return int(minor)


def _signed(bal: Any) -> int:
    amt = bal.find("c:Amt", {"c": CAMT})
    amount = _minor(str(amt.text), amt.get("Ccy"), "A balance")
    return amount if _text(bal, "c:CdtDbtInd") == "CRDT" else -amount


def _account(node: Any) -> str:
    return _text(node, "c:Id/c:IBAN") or _text(node, "c:Id/c:Othr/c:Id")


def read_camt053(document: bytes) -> list[Statement]:
    """The statements of a camt.053.001.08 file, refused whole if it does not validate."""
    found = problems(document)
    if found:
        listed = "; ".join(found[:3])
        raise BankFileRefused(f"The file is not a valid camt.053.001.08 statement: {listed}.")
    root = _parse(document)
    if etree.QName(root).namespace != CAMT:
        raise BankFileRefused("The file is a pain.001 payment file, not a camt.053 statement.")
    out = []
    for stmt in root.iterfind("c:BkToCstmrStmt/c:Stmt", {"c": CAMT}):
        acct = stmt.find("c:Acct", {"c": CAMT})
        balances = {
            _text(b, "c:Tp/c:CdOrPrtry/c:Cd"): b for b in stmt.iterfind("c:Bal", {"c": CAMT})
        }
        opening = balances.get("OPBD", balances.get("PRCD"))
        closing = balances.get("CLBD")
        lines = []
        for entry in stmt.iterfind("c:Ntry", {"c": CAMT}):
            if _text(entry, "c:Sts/c:Cd") not in ("BOOK", ""):
                continue  # pending or informational entries are not money yet
            credit = _text(entry, "c:CdtDbtInd") == "CRDT"
            side = "Dbtr" if credit else "Cdtr"
            tx = "c:NtryDtls/c:TxDtls"
            reference = (_text(entry, "c:AcctSvcrRef") or _text(entry, "c:NtryRef")
                         or _text(entry, f"{tx}/c:Refs/c:AcctSvcrRef"))  # fmt: skip
            if not reference:
                raise BankFileRefused("A statement entry has no bank reference (AcctSvcrRef or "
                                      "NtryRef): it could not be imported only once.")  # fmt: skip
            amt = entry.find("c:Amt", {"c": CAMT})
            cur = amt.get("Ccy")
            booked = _text(entry, "c:BookgDt/c:Dt") or _text(entry, "c:BookgDt/c:DtTm")[:10]
            party = entry.find(f"{tx}/c:RltdPties/c:{side}Acct", {"c": CAMT})
            end_to_end = _text(entry, f"{tx}/c:Refs/c:EndToEndId")
            remittance = [
                t.text or "" for t in entry.iterfind(f"{tx}/c:RmtInf/c:Ustrd", {"c": CAMT})
            ]
            lines.append(StatementLine(
                reference, _minor(str(amt.text), cur, "An entry's amount"), cur, credit,
                date.fromisoformat(booked) if booked else date.min,
                "" if end_to_end == "NOTPROVIDED" else end_to_end,
                "" if party is None else _account(party),
                _text(entry, f"{tx}/c:RltdPties/c:{side}/c:Pty/c:Nm"), " ".join(remittance),
            ))  # fmt: skip
        frm = _text(stmt, "c:FrToDt/c:FrDtTm")[:10]
        to = _text(stmt, "c:FrToDt/c:ToDtTm")[:10]
        days = [ln.booked_on for ln in lines]
        out.append(Statement(
            _text(stmt, "c:Id"), _account(acct), _text(acct, "c:Ccy"),
            _signed(opening) if opening is not None else 0,
            _signed(closing) if closing is not None else 0,
            date.fromisoformat(frm) if frm else min(days, default=date.min),
            date.fromisoformat(to) if to else max(days, default=date.min),
            tuple(lines), _text(acct, "c:Ownr/c:Nm"),
        ))  # fmt: skip
    return out
