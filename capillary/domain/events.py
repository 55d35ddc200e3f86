"""Events (DESIGN.md §10): what a party would want to know, written with the change that
made it, and whom it concerns.

An event concerns exactly the organizations that may see everything it carries (§8): a
transfer is told to the sender and the obligor (``certificate.transferred``: the recipient's
fragment and the sender's change) and, apart, to the recipient (``certificate.received``:
its fragment only, never the sender's change, a sibling branch of its own). Settlement tells
the obligor the whole payout and each holder only its own. Events of one subject (a
certificate, an invoice, a credit line) keep their order: the outbox numbers them as they
commit, and delivery to an endpoint takes one subject's events one after another.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from capillary.domain import wire
from capillary.domain.certificates import Certificate, Fragment
from capillary.domain.credit import CreditLine
from capillary.domain.errors import InvalidWebhook
from capillary.domain.market import Cleared, FinancingRequest, MarketFill, MarketQuote
from capillary.domain.matching import MatchResult
from capillary.domain.offers import FinancingOffer
from capillary.domain.payables import Payable
from capillary.domain.pricing import Quote

VERSION = 1

#: A credit line is near its limit once a draw takes its use to this share of the limit.
NEAR_LIMIT = Decimal("0.9")


class EventType(enum.StrEnum):
    CERTIFICATE_ISSUED = "certificate.issued"
    CERTIFICATE_ACCEPTED = "certificate.accepted"
    CERTIFICATE_CANCELLED = "certificate.cancelled"
    CERTIFICATE_TRANSFERRED = "certificate.transferred"
    CERTIFICATE_RECEIVED = "certificate.received"
    CERTIFICATE_FINANCED = "certificate.financed"
    CERTIFICATE_SETTLED = "certificate.settled"
    CERTIFICATE_OVERDUE = "certificate.overdue"
    FINANCING_OFFERED = "financing.offered"
    FINANCING_ACCEPTED = "financing.accepted"
    INVOICE_MATCHED = "invoice.matched"
    INVOICE_EXCEPTIONS = "invoice.exceptions"
    PAYABLE_CONFIRMED = "payable.confirmed"
    CREDIT_LINE_GRANTED = "credit_line.granted"
    CREDIT_LINE_NEAR_LIMIT = "credit_line.near_limit"
    SETTLEMENT_CASH_SHORT = "settlement.cash_short"
    RECOURSE_OPENED = "recourse_claim.opened"
    RECOURSE_COLLECTED = "recourse_claim.collected"
    MARKET_REQUEST_FILLED = "market.request_filled"
    MARKET_QUOTE_FILLED = "market.quote_filled"
    MARKET_BID_CLEARED = "market.bid_cleared"
    RISK_CONCENTRATION = "risk.concentration"
    RISK_OVERDUE = "risk.overdue"


@dataclass(frozen=True, slots=True)
class Event:
    type: EventType
    at: int  # µs since the epoch, on the platform's clock
    orgs: tuple[str, ...]  # whom it concerns: who may see all of it
    subject: str  # what it is about; one subject's events keep their order
    payload: dict[str, Any]
    id: str | None = None  # given by the outbox (or fixed, for an event made at most once)
    version: int = VERSION


def envelope(
    event_id: str,
    kind: str,
    version: int,
    at: int,
    orgs: Sequence[str],
    subject: str,
    data: dict[str, Any],
) -> dict[str, Any]:
    """What a receiver gets: the event's identity, whom it concerns, and its data."""
    return {
        "id": event_id, "type": kind, "version": version, "occurred_at": wire.instant_text(at),
        "organizations": list(orgs), "subject": subject, "data": data,
    }  # fmt: skip


def body(envelope: dict[str, Any]) -> bytes:
    """An envelope as the bytes that are signed and sent: compact JSON, keys sorted."""
    return json.dumps(envelope, separators=(",", ":"), sort_keys=True, ensure_ascii=False).encode()


def parse_types(names: Iterable[str]) -> tuple[str, ...]:
    """Event types to subscribe to (``*`` for all), each known; refused with the list."""
    chosen = sorted({n.strip() for n in names if n.strip()})
    if not chosen:
        raise InvalidWebhook("Name at least one event type, or * for all of them.")
    known = {t.value for t in EventType}
    unknown = [n for n in chosen if n != "*" and n not in known]
    if unknown:
        raise InvalidWebhook(
            f"Unknown event type {unknown[0]!r}; the types are: {', '.join(sorted(known))}."
        )
    return ("*",) if "*" in chosen else tuple(chosen)


def wants(types: Sequence[str], event_type: str) -> bool:
    return "*" in types or event_type in types


def _orgs(*orgs: str | None) -> tuple[str, ...]:
    return tuple(sorted({o for o in orgs if o}))


def _cert_subject(c: Certificate) -> str:
    return f"certificate:{c.number}"


# ------------------------------------------------------------------ certificates


def certificate_event(
    kind: EventType, c: Certificate, at: int, extra: dict[str, Any] | None = None
) -> Event:
    """Issued, accepted or cancelled: told to the obligor and the first holder."""
    payload = {"certificate": wire.certificate(c), **(extra or {})}
    return Event(kind, at, _orgs(c.obligor, c.first_holder), _cert_subject(c), payload)


def moved_events(
    c: Certificate,
    fragments: Sequence[Fragment],
    *,
    sender: str,
    recipient: str,
    at: int,
    posting: int,
    reference: str | None = None,
    quote: Quote | None = None,
    offer_id: int | None = None,
) -> list[Event]:
    """A transfer (``reference``) or a financing (``quote``): told in full to the sender and
    the obligor; the recipient is told of its own fragment only."""
    cert = wire.certificate(c)
    mine = wire.fragment(fragments[0], c)
    common: dict[str, Any] = {"sender": sender, "recipient": recipient,
                              "ledger_transaction": posting}  # fmt: skip
    shapes = [mine, *(wire.fragment(f, c) for f in fragments[1:])]
    if quote is None:
        common["reference"] = reference
        full = {"certificate": cert, "fragments": shapes, **common}
        return [
            Event(EventType.CERTIFICATE_TRANSFERRED, at, _orgs(sender, c.obligor),
                  _cert_subject(c), full),
            Event(EventType.CERTIFICATE_RECEIVED, at, (recipient,), _cert_subject(c),
                  {"certificate": cert, "fragment": mine, **common}),
        ]  # fmt: skip
    common["price"] = wire.price(quote, c.currency)
    common["offer_id"] = offer_id
    full = {"certificate": cert, "fragments": shapes, **common}
    # The funder buys: it may see the seller's fragment above its own, not the seller's change.
    to_funder = {"certificate": cert, "fragments": [mine], **common}
    return [
        Event(EventType.CERTIFICATE_FINANCED, at, _orgs(sender, c.obligor), _cert_subject(c),
              full),
        Event(EventType.CERTIFICATE_FINANCED, at, (recipient,), _cert_subject(c), to_funder),
    ]  # fmt: skip


def settled_events(
    c: Certificate, fragments: Sequence[Fragment], payouts: dict[str, int], at: int, on: date
) -> list[Event]:
    """Paid at maturity (or early): the obligor learns every payout, each holder its own."""
    cur = c.currency
    paid = {"certificate": wire.certificate(c), "settled_on": on.isoformat()}
    events = [
        Event(EventType.CERTIFICATE_SETTLED, at, (c.obligor,), _cert_subject(c),
              {**paid, "paid": wire.money(sum(payouts.values()), cur),
               "payouts": [{"holder": h, "amount": wire.money(v, cur)}
                           for h, v in sorted(payouts.items())]}),
    ]  # fmt: skip
    held: dict[str, list[Fragment]] = {}
    for f in fragments:
        held.setdefault(f.holder, []).append(f)
    for holder in sorted(set(payouts) | set(held)):
        if holder == c.obligor:
            continue
        events.append(
            Event(EventType.CERTIFICATE_SETTLED, at, (holder,), _cert_subject(c),
                  {**paid, "paid": wire.money(payouts.get(holder, 0), cur),
                   "fragments": [wire.fragment(f, c) for f in held.get(holder, [])]})
        )  # fmt: skip
    return events


def overdue_event(c: Certificate, fragments: Sequence[Fragment], due: int, at: int) -> Event:
    """Unpaid after maturity: the obligor and every holder of a live fragment. The payload
    names the certificate and what is due on it, nothing of anyone's fragments."""
    payload = {"certificate": wire.certificate(c), "due": wire.money(due, c.currency)}
    return Event(
        EventType.CERTIFICATE_OVERDUE, at, _orgs(c.obligor, *(f.holder for f in fragments)),
        _cert_subject(c), payload,
    )  # fmt: skip


# ------------------------------------------------------------------ financing, credit


def offer_event(kind: EventType, o: FinancingOffer, at: int) -> Event:
    """Offered (by the holder or quoted by a funder) or accepted: the seller and the funder."""
    return Event(kind, at, _orgs(o.seller, o.funder), f"financing_offer:{o.id}",
                 {"offer": wire.offer(o)})  # fmt: skip


def credit_line_event(kind: EventType, ln: CreditLine, at: int) -> Event:
    """Granted, or near its limit: the funder and the obligor."""
    subject = f"credit_line:{ln.funder}:{ln.obligor}:{ln.currency}"
    payload = {"credit_line": wire.credit_line(ln)}
    return Event(kind, at, _orgs(ln.funder, ln.obligor), subject, payload)


def crossed_near_limit(before: int, after: int, limit: int) -> bool:
    """Whether a draw from ``before`` to ``after`` took a line's use to its near-limit mark."""
    mark = Decimal(limit) * NEAR_LIMIT
    return limit > 0 and Decimal(before) < mark <= Decimal(after)


def cash_short_event(
    obligor: str,
    cur: str,
    *,
    due: int,
    cash: int,
    first_due: date,
    certificates: Sequence[str],
    days: int,
    today: date,
    at: int,
) -> Event:
    """Certificates of the obligor fall due within ``days`` and its cash does not cover
    them: told to the obligor, once a business day (the id is fixed by the day)."""
    payload = {
        "obligor": obligor, "due": wire.money(due, cur), "cash": wire.money(cash, cur),
        "short": wire.money(due - cash, cur), "first_due": first_due.isoformat(),
        "within_days": days, "certificates": list(certificates), "as_of": today.isoformat(),
    }  # fmt: skip
    return Event(EventType.SETTLEMENT_CASH_SHORT, at, (obligor,), f"obligor:{obligor}:{cur}",
                 payload, id=f"cash-short:{obligor}:{cur}:{today.isoformat()}")  # fmt: skip


def concentration_event(
    kind: str, subject: str, share: float, threshold: float, amount: int, cur: str,
    operators: Sequence[str], today: date, at: int,
) -> Event:  # fmt: skip
    """Outstanding certificates concentrate beyond a threshold: one obligor's share of all
    of them, or of what one funder holds. Told to the operator (and to that funder), once a
    day (the id is fixed by the day)."""
    funder = subject.split("/")[0] if kind == "funder_concentration" else None
    payload = {"kind": kind, "subject": subject, "share": f"{share:.4f}",
               "threshold": f"{threshold:.4f}", "amount": wire.money(amount, cur),
               "as_of": today.isoformat()}  # fmt: skip
    return Event(EventType.RISK_CONCENTRATION, at, _orgs(*operators, funder),
                 f"risk:{kind}:{subject}:{cur}", payload,
                 id=f"concentration:{kind}:{subject}:{cur}:{today.isoformat()}"[:80])  # fmt: skip


def overdue_alert(obligor: str, amount: int, cur: str, oldest: date, operators: Sequence[str],
                  today: date, at: int) -> Event:  # fmt: skip
    """An obligor has certificates overdue: what is unpaid and since when. Told to the
    operator and the obligor, once a day while it lasts."""
    payload = {"obligor": obligor, "overdue": wire.money(amount, cur),
               "oldest_maturity": oldest.isoformat(), "days_past_due": (today - oldest).days,
               "as_of": today.isoformat()}  # fmt: skip
    return Event(EventType.RISK_OVERDUE, at, _orgs(*operators, obligor),
                 f"risk:overdue:{obligor}:{cur}", payload,
                 id=f"overdue:{obligor}:{cur}:{today.isoformat()}"[:80])  # fmt: skip


def claim_event(kind: EventType, claim: dict[str, Any], at: int) -> Event:
    """A recourse claim opened or collected: its claimant and its debtor."""
    return Event(kind, at, _orgs(claim["claimant"], claim["debtor"]),
                 f"recourse_claim:{claim['id']}", {"claim": wire.claim(claim)})  # fmt: skip


# ------------------------------------------------------------------ trade


def match_event(invoice_id: int, seller: str, buyer: str, result: MatchResult, at: int) -> Event:
    kind = EventType.INVOICE_MATCHED if result.matched else EventType.INVOICE_EXCEPTIONS
    return Event(kind, at, _orgs(seller, buyer), f"invoice:{invoice_id}",
                 {"match": wire.match(invoice_id, result)})  # fmt: skip


def payable_event(p: Payable, at: int) -> Event:
    return Event(EventType.PAYABLE_CONFIRMED, at, _orgs(p.buyer, p.supplier),
                 f"invoice:{p.invoice_id}", {"payable": wire.payable(p)})  # fmt: skip


# ------------------------------------------------------------------ the marketplace


def market_fill_events(
    request: FinancingRequest, fills: Sequence[tuple[MarketQuote | None, MarketFill]], at: int
) -> list[Event]:
    """A request (partly) filled: its holder learns every fill; each funder, with the
    holder, its own quote's fill, not the others' prices (a fill the obligor paid early
    from its offer has no quote: the obligor learns it from the certificate's events)."""
    cur, subject = request.currency, f"market_request:{request.id}"
    events = [
        Event(EventType.MARKET_REQUEST_FILLED, at, (request.holder,), subject,
              {"request": wire.financing_request(request),
               "fills": [wire.market_fill(f, cur) for _, f in fills]}),
    ]  # fmt: skip
    events += [
        Event(EventType.MARKET_QUOTE_FILLED, at, _orgs(request.holder, q.funder), subject,
              {"quote": wire.market_quote(q, cur), "fill": wire.market_fill(f, cur)})
        for q, f in fills
        if q is not None
    ]  # fmt: skip
    return events


def bid_cleared_events(
    programme_id: int,
    obligor: str,
    currency: str,
    cleared: Sequence[Cleared],
    rate: Decimal,
    at: int,
) -> list[Event]:
    """Each bid an early-payment run cleared: told to its holder and the obligor."""
    return [
        Event(EventType.MARKET_BID_CLEARED, at, _orgs(c.holder, obligor),
              f"early_payment:{programme_id}",
              {"programme_id": programme_id, "bid_id": c.bid_id, "fragment_id": c.fragment_id,
               "face": wire.money(c.face, currency), "apr": wire.rate_text(c.apr),
               "paid": wire.money(c.paid, currency), "clearing_rate": wire.rate_text(rate)})
        for c in cleared
    ]  # fmt: skip
