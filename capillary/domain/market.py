"""The marketplace's rules (DESIGN.md §6), free of I/O: how a financing request fills from
the sources that compete for it, and how an obligor's early-payment offer clears its bids.

**Best execution.** A request (a holder's amount, the highest APR it accepts, its recourse
preference) fills from the cheapest eligible source first — a funder's quote or the
obligor's early-payment offer — then the earliest posted, then the lowest id: price, then
time. A source fills at most its own amount, and never beyond the limits it shares with
others (a funder's credit line to the obligor, its caps, the cash an obligor offered):
*pools*, each with what remains of it. Fills are whole minor units of at least the smallest
fragment, and never leave a remainder smaller than that (a fragment that small could not be
split off). The result is a pure function of the book, so replaying a book reproduces its
fills.

**Clearing an early-payment offer** (dynamic discounting as a market). The obligor offers
cash up to an amount with a hurdle APR; holders bid the APR they give up on (part of) a
fragment. The run takes bids at or above the hurdle, highest APR first (then time), each
paid its face less the discount at its APR for the days left, until the cash runs out; the
marginal bid may be filled in part. The clearing rate is the lowest APR that cleared.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from capillary.domain.pricing import DayCount, discount

#: How a holder's recourse preference is named: either, with recourse only, without only.
RECOURSE_NAMES: dict[bool | None, str] = {None: "any", True: "with", False: "without"}
RECOURSE_BY_NAME: dict[str, bool | None] = {v: k for k, v in RECOURSE_NAMES.items()}


class SourceKind(enum.StrEnum):
    QUOTE = "quote"  # a funder's, by hand or by a standing rule
    EARLY_PAYMENT = "early_payment"  # the obligor's own cash


@dataclass(frozen=True, slots=True)
class Request:
    id: int
    holder: str
    amount: int  # minor units of face wanted financed (a fragment's worth: ≥ the smallest)
    max_rate: Decimal  # the highest APR the holder accepts
    recourse: bool | None  # None: either; False: without recourse only; True: with it only
    posted_at: int


@dataclass(frozen=True, slots=True)
class Source:
    id: int
    kind: SourceKind
    funder: str  # the funder, or the obligor for its early payment
    rate: Decimal  # the APR it asks
    amount: int  # what it offers, at most
    recourse: bool  # a quote with recourse to the seller (early payment never has it)
    posted_at: int
    pools: tuple[str, ...] = ()  # shared limits it draws on (a credit line, a cap, cash)


@dataclass(frozen=True, slots=True)
class Fill:
    request_id: int
    source_id: int
    kind: SourceKind
    funder: str
    amount: int
    rate: Decimal


def eligible(request: Request, source: Source) -> bool:
    """Whether ``source`` may fund ``request`` at all: its rate within the holder's, its
    recourse as the holder wants, and something to offer."""
    if source.rate > request.max_rate or source.amount <= 0:
        return False
    return request.recourse is None or source.recourse == request.recourse


def priority(source: Source) -> tuple[Decimal, int, int]:
    """Price, then time, then id: the order sources fill in."""
    return (source.rate, source.posted_at, source.id)


def best_execution(
    request: Request,
    sources: Sequence[Source],
    pools: Mapping[str, int],
    *,
    min_fill: int,
) -> tuple[list[Fill], dict[str, int]]:
    """The fills of ``request`` from ``sources`` (cheapest first), and what remains of each
    pool after them. ``pools``: what remains of each shared limit before."""
    remaining = dict(pools)
    fills = execute(request, sorted(sources, key=priority), remaining, min_fill=min_fill)
    return fills, remaining


def execute(
    request: Request, ranked: Sequence[Source], remaining: dict[str, int], *, min_fill: int
) -> list[Fill]:
    """:func:`best_execution` over sources already in :func:`priority` order, drawing
    ``remaining`` down in place (many requests against one book share it)."""
    left = request.amount
    fills: list[Fill] = []
    for source in ranked:
        if left < min_fill or source.rate > request.max_rate:
            break  # the rest are dearer still
        if not eligible(request, source):
            continue
        room = min([source.amount, *(remaining.get(p, 0) for p in source.pools)])
        amount = _fillable(left, room, min_fill)
        if amount <= 0:
            continue
        fills.append(Fill(request.id, source.id, source.kind, source.funder, amount, source.rate))
        left -= amount
        for p in source.pools:
            remaining[p] -= amount
    return fills


def _fillable(left: int, room: int, min_fill: int) -> int:
    """How much of ``left`` a source with ``room`` takes: all of it if it can; otherwise as
    much as leaves a remainder a fragment can still be (at least ``min_fill``); nothing if
    that is below ``min_fill``."""
    if room >= left:
        return left
    amount = min(room, left - min_fill)
    return amount if amount >= min_fill else 0


# ------------------------------------------------------------------ early payment


@dataclass(frozen=True, slots=True)
class Programme:
    """An obligor's early-payment offer: cash up to ``cash`` at ``hurdle`` APR or better."""

    id: int
    obligor: str
    cash: int
    hurdle: Decimal
    day_count: DayCount = DayCount.ACT_360


@dataclass(frozen=True, slots=True)
class Bid:
    id: int
    holder: str
    fragment_id: int
    amount: int  # face offered for early payment
    apr: Decimal  # what the holder gives up
    maturity: date
    posted_at: int


@dataclass(frozen=True, slots=True)
class Cleared:
    bid_id: int
    holder: str
    fragment_id: int
    face: int  # the face paid early (all of the bid, or the marginal bid's part)
    apr: Decimal
    paid: int  # cash to the holder: face less the discount


@dataclass(frozen=True, slots=True)
class Clearing:
    cleared: list[Cleared]
    cash_used: int
    rate: Decimal | None  # the lowest APR that cleared


def bid_priority(bid: Bid) -> tuple[Decimal, int, int]:
    """Highest APR first, then the earliest, then the lowest id."""
    return (-bid.apr, bid.posted_at, bid.id)


def clear(programme: Programme, bids: Sequence[Bid], *, on: date, min_fill: int) -> Clearing:
    """Which bids the programme pays today, and how much each: the best APRs first, until
    the cash runs out; a marginal bid in part (never leaving less than ``min_fill`` of its
    fragment, nor taking less)."""
    cash = programme.cash
    cleared: list[Cleared] = []
    for bid in sorted((b for b in bids if b.apr >= programme.hurdle), key=bid_priority):
        if cash <= 0:
            break  # nothing left to pay anyone
        days = (bid.maturity - on).days
        if days <= 0 or bid.amount < min_fill:
            continue
        face = _affordable(bid, cash, days, programme.day_count, min_fill)
        if face <= 0:
            continue
        paid = face - discount(face, bid.apr, days, programme.day_count)
        cleared.append(Cleared(bid.id, bid.holder, bid.fragment_id, face, bid.apr, paid))
        cash -= paid
    rate = min((c.apr for c in cleared), default=None)
    return Clearing(cleared, programme.cash - cash, rate)


def _affordable(bid: Bid, cash: int, days: int, day_count: DayCount, min_fill: int) -> int:
    """The most face of ``bid`` that ``cash`` pays for at its APR (all of it if it can)."""
    if bid.amount - discount(bid.amount, bid.apr, days, day_count) <= cash:
        return bid.amount
    face = face_for_cash(cash, bid.apr, days, day_count, most=bid.amount - min_fill)
    return face if face >= min_fill else 0  # a part must leave a fragment of min_fill


def face_for_cash(
    cash: int, apr: Decimal, days: int, day_count: DayCount = DayCount.ACT_360, *,
    most: int | None = None,
) -> int:  # fmt: skip
    """The largest face (up to ``most``) whose price at ``apr`` for ``days`` — the face
    less its discount — ``cash`` pays: how much of a claim an early payment can buy."""
    low, high = 0, cash * 2 if most is None else most  # an APR below 100% over ≤ a year
    high = max(0, high)
    while low < high:  # price grows with face
        mid = (low + high + 1) // 2
        if mid - discount(mid, apr, days, day_count) <= cash:
            low = mid
        else:
            high = mid - 1
    return low


def certain_rate(
    programme: Programme,
    bids: Sequence[Bid],
    amount: int,
    maturity: date,
    *,
    on: date,
    min_fill: int,
    step: Decimal = Decimal("0.0001"),
    ceiling: Decimal = Decimal("0.36"),
) -> Decimal | None:
    """The lowest APR (on a grid of ``step``) at which a new bid of ``amount`` would clear
    in full now, ahead of the book as it stands; ``None`` if none up to ``ceiling`` does. A
    new bid comes after every standing bid at the same APR (time priority)."""
    last = max((b.posted_at for b in bids), default=0) + 1
    next_id = max((b.id for b in bids), default=0) + 1

    def clears(rate: Decimal) -> bool:
        mine = Bid(next_id, "", 0, amount, rate, maturity, last)
        done = clear(programme, [*bids, mine], on=on, min_fill=min_fill)
        return any(c.bid_id == next_id and c.face == amount for c in done.cleared)

    low = max(programme.hurdle, Decimal(0))
    if not clears(ceiling):
        return None
    steps_low, steps_high = int(low / step), int(ceiling / step)
    while steps_low < steps_high:  # clearing is monotone in the bid's APR
        mid = (steps_low + steps_high) // 2
        if clears(step * mid):
            steps_high = mid
        else:
            steps_low = mid + 1
    return step * steps_low


# ------------------------------------------------------------------ the book's records


class Status(enum.StrEnum):
    OPEN = "open"
    FILLED = "filled"
    CANCELLED = "cancelled"  # a request by its holder, a quote withdrawn by its funder
    EXPIRED = "expired"


@dataclass(frozen=True, slots=True)
class FinancingRequest:
    """A holder's standing wish to sell (part of) a fragment at ``max_rate`` or better."""

    id: int
    holder: str
    fragment_id: int  # the fragment it sells from (the change of each fill, after one)
    obligor: str
    currency: str
    amount: int
    filled: int
    max_rate: Decimal
    recourse: bool | None
    expires_on: date
    status: Status
    created_at: int
    created_by: str
    standing_id: int | None = None  # posted by the holder's standing request

    @property
    def open_amount(self) -> int:
        return self.amount - self.filled


@dataclass(frozen=True, slots=True)
class MarketQuote:
    """A funder's answer to a request: up to ``amount`` at ``rate`` until ``valid_until``."""

    id: int
    request_id: int
    funder: str
    rate: Decimal
    amount: int
    filled: int
    recourse: bool
    valid_until: date
    status: Status
    created_at: int
    created_by: str
    rule_id: int | None = None  # quoted by the funder's standing rule

    @property
    def open_amount(self) -> int:
        return self.amount - self.filled


@dataclass(frozen=True, slots=True)
class MarketFill:
    """A fill as it executed: a financing of ``amount`` to ``funder`` at ``rate`` — from a
    funder's quote, or the obligor paying early from its offer (``programme_id``)."""

    quote_id: int | None
    funder: str
    amount: int
    rate: Decimal
    fragment_id: int  # the buyer's new fragment
    ledger_transaction: int
    programme_id: int | None = None


def as_source(quote: MarketQuote, obligor: str, currency: str) -> Source:
    """A quote as a source of a request's best execution, drawing on its funder's credit
    line to the obligor (shared by every quote of that funder)."""
    return Source(quote.id, SourceKind.QUOTE, quote.funder, quote.rate, quote.open_amount,
                  quote.recourse, quote.created_at,
                  (line_pool(quote.funder, obligor, currency),))  # fmt: skip


def line_pool(funder: str, obligor: str, currency: str) -> str:
    return f"line:{funder}:{obligor}:{currency}"


def cash_pool(funder: str, currency: str) -> str:
    return f"cash:{funder}:{currency}"


@dataclass(frozen=True, slots=True)
class EarlyPaymentOffer:
    """An obligor's standing offer of its own cash for early payment of its certificates:
    up to ``cash`` (``used`` of it so far) to bids at ``hurdle`` APR or better."""

    id: int
    obligor: str
    currency: str
    cash: int
    used: int
    hurdle: Decimal
    expires_on: date
    status: Status
    last_rate: Decimal | None  # the APR the last clearing cleared at: the trend
    created_at: int
    created_by: str

    def programme(self) -> Programme:
        return Programme(self.id, self.obligor, self.cash - self.used, self.hurdle)


@dataclass(frozen=True, slots=True)
class BidRecord:
    id: int
    programme_id: int
    holder: str
    fragment_id: int
    amount: int
    apr: Decimal
    status: Status  # open, filled (cleared), cancelled
    face_cleared: int
    paid: int
    created_at: int
    created_by: str

    def bid(self, maturity: date) -> Bid:
        return Bid(self.id, self.holder, self.fragment_id, self.amount, self.apr, maturity,
                   self.created_at)  # fmt: skip
