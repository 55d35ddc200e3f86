"""The wire shapes of the domain's objects: JSON-ready dicts, exactly what the HTTP API
answers with (its response models are built from these) and what events carry. Money is a
decimal string in major units with its currency, never a number; instants are ISO 8601 in
UTC; dates ISO 8601."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from capillary.domain.certificates import Certificate, Fragment
from capillary.domain.credit import CreditLine
from capillary.domain.market import RECOURSE_NAMES, FinancingRequest, MarketFill, MarketQuote
from capillary.domain.matching import MatchResult
from capillary.domain.offers import FinancingOffer
from capillary.domain.payables import Payable
from capillary.domain.pricing import Quote
from capillary.domain.units import ISO_4217

JSON = dict[str, Any]


def money(minor: int, currency: str) -> JSON:
    """``{"amount": "1250.00", "currency": "CNY"}``: major units, exactly, as text."""
    exponent = ISO_4217.get(currency, 2)
    if exponent == 0:
        return {"amount": str(minor), "currency": currency}
    whole, frac = divmod(abs(minor), 10**exponent)
    sign = "-" if minor < 0 else ""
    return {"amount": f"{sign}{whole}.{frac:0{exponent}d}", "currency": currency}


def rate_text(rate: Decimal) -> str:
    return format(rate.normalize(), "f") if rate == rate.to_integral() else str(rate)


def instant(us: int) -> datetime:
    """A stored instant (microseconds since the epoch) as an aware UTC datetime."""
    return datetime.fromtimestamp(us // 1_000_000, tz=UTC).replace(microsecond=us % 1_000_000)


def instant_text(us: int) -> str:
    return instant(us).isoformat().replace("+00:00", "Z")


def certificate(c: Certificate) -> JSON:
    return {
        "number": c.number, "obligor": c.obligor, "first_holder": c.first_holder,
        "face": money(c.face, c.currency), "issue_date": c.issue_date.isoformat(),
        "maturity": c.maturity.isoformat(), "status": c.status.value,
    }  # fmt: skip


def fragment(f: Fragment, c: Certificate) -> JSON:
    return {
        "id": f.id, "certificate": c.number, "parent_id": f.parent_id, "holder": f.holder,
        "amount": money(f.amount, c.currency), "status": f.status.value, "tier": f.tier,
        "path": f.path, "recourse_to": f.recourse_to,
    }  # fmt: skip


def offer(o: FinancingOffer) -> JSON:
    return {
        "id": o.id, "fragment_id": o.fragment_id, "seller": o.seller, "funder": o.funder,
        "proposer": o.proposer, "amount": money(o.amount, o.currency),
        "rate": rate_text(o.rate), "day_count": o.day_count.value,
        "fee_rate": rate_text(o.fee_rate), "recourse": o.recourse, "status": o.status.value,
        "created_at": instant_text(o.created_at), "ledger_transaction": o.ledger_tx,
    }  # fmt: skip


def price(q: Quote, cur: str) -> JSON:
    return {
        "face": money(q.face, cur), "days": q.days, "discount": money(q.discount, cur),
        "fee": money(q.fee, cur), "price": money(q.price, cur),
        "to_seller": money(q.to_seller, cur),
    }  # fmt: skip


def credit_line(ln: CreditLine) -> JSON:
    cur = ln.currency
    return {
        "funder": ln.funder, "obligor": ln.obligor, "limit": money(ln.limit, cur),
        "used": money(ln.used, cur), "available": money(ln.available, cur),
        "expires_on": ln.expires_on.isoformat(),
    }  # fmt: skip


def claim(row: dict[str, Any]) -> JSON:
    return {
        "id": row["id"], "certificate": row["number"], "fragment_id": row["fragment_id"],
        "claimant": row["claimant"], "debtor": row["debtor"],
        "amount": money(row["amount"], row["currency"]), "status": row["status"],
    }  # fmt: skip


def payable(p: Payable) -> JSON:
    cur = p.currency
    return {
        "id": p.id, "invoice_id": p.invoice_id, "buyer": p.buyer, "supplier": p.supplier,
        "amount": money(p.amount, cur), "open_amount": money(p.open_amount, cur),
        "due_date": p.due_date.isoformat(), "status": p.status.value,
        "override_reason": p.override_reason,
    }  # fmt: skip


def match(invoice_id: int, m: MatchResult) -> JSON:
    return {
        "invoice_id": invoice_id,
        "matched": m.matched,
        "exceptions": [
            {"code": e.code, "line_no": e.line_no, "message": e.message} for e in m.exceptions
        ],
    }


def financing_request(r: FinancingRequest) -> JSON:
    cur = r.currency
    return {
        "id": r.id, "holder": r.holder, "fragment_id": r.fragment_id, "obligor": r.obligor,
        "amount": money(r.amount, cur), "filled": money(r.filled, cur),
        "max_rate": rate_text(r.max_rate),
        "recourse": RECOURSE_NAMES[r.recourse],
        "expires_on": r.expires_on.isoformat(), "status": r.status.value,
        "created_at": instant_text(r.created_at), "standing_id": r.standing_id,
    }  # fmt: skip


def market_fill(f: MarketFill, currency: str) -> JSON:
    return {
        "quote_id": f.quote_id, "funder": f.funder, "amount": money(f.amount, currency),
        "rate": rate_text(f.rate), "fragment_id": f.fragment_id,
        "ledger_transaction": f.ledger_transaction, "programme_id": f.programme_id,
    }  # fmt: skip


def market_quote(q: MarketQuote, currency: str) -> JSON:
    return {
        "id": q.id, "request_id": q.request_id, "funder": q.funder, "rate": rate_text(q.rate),
        "amount": money(q.amount, currency), "filled": money(q.filled, currency),
        "recourse": q.recourse, "valid_until": q.valid_until.isoformat(),
        "status": q.status.value, "created_at": instant_text(q.created_at),
        "rule_id": q.rule_id,
    }  # fmt: skip
