"""The marketplace's rules under hypothesis: fills never exceed a request, a source, a
shared limit or the cash offered; price then time priority holds; a book replayed (in any
order) fills the same."""

from __future__ import annotations

import random
from datetime import date
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from capillary.domain.market import (
    Bid,
    Programme,
    Request,
    Source,
    SourceKind,
    best_execution,
    certain_rate,
    clear,
    eligible,
    face_for_cash,
)
from capillary.domain.market_book import Book, book_json, book_of, fills_json, fills_of
from capillary.domain.pricing import discount

POOLS = ("line:bank", "line:bank2", "cash:core", "cap:tier3")
rates = st.integers(0, 2000).map(lambda bp: Decimal(bp) / 10_000)


def cheaper_first(s: Source) -> tuple[Decimal, int, int]:  # the rule, stated here again
    return (s.rate, s.posted_at, s.id)


def best_bid_first(b: Bid) -> tuple[Decimal, int, int]:
    return (-b.apr, b.posted_at, b.id)


@st.composite
def books(draw: st.DrawFn) -> tuple[Request, list[Source], dict[str, int], int]:
    min_fill = draw(st.sampled_from([1, 100, 10_000]))

    def near_fragments(least: int = 0) -> int:  # amounts about a few fragments: the edges
        return max(least, draw(st.integers(0, 12)) * min_fill + draw(st.integers(0, min_fill)))

    request = Request(1, "tier3", near_fragments(min_fill), draw(rates),
                      draw(st.sampled_from([None, True, False])), 0)  # fmt: skip
    sources = [
        Source(i, draw(st.sampled_from(list(SourceKind))), f"f{i % 3}", draw(rates),
               near_fragments(), draw(st.booleans()), draw(st.integers(0, 5)),
               tuple(draw(st.lists(st.sampled_from(POOLS), max_size=2, unique=True))))
        for i in range(1, draw(st.integers(0, 8)) + 1)
    ]  # fmt: skip
    pools = {p: near_fragments() for p in POOLS}
    return request, sources, pools, min_fill


@settings(max_examples=400)
@given(books())
def test_fills_respect_every_limit_and_price_then_time(
    book: tuple[Request, list[Source], dict[str, int], int],
) -> None:
    request, sources, pools, min_fill = book
    fills, remaining = best_execution(request, sources, pools, min_fill=min_fill)
    by_id = {s.id: s for s in sources}
    filled = sum(f.amount for f in fills)
    left = request.amount - filled
    assert 0 <= filled <= request.amount
    assert left == 0 or left >= min_fill  # what is left can still be a fragment
    assert len({f.source_id for f in fills}) == len(fills)
    for f in fills:
        source = by_id[f.source_id]
        assert eligible(request, source)
        assert min_fill <= f.amount <= source.amount
        assert f.rate == source.rate <= request.max_rate
    for p, start in pools.items():
        drawn = sum(f.amount for f in fills if p in by_id[f.source_id].pools)
        assert remaining[p] == start - drawn >= 0
    # Price, then time: while a better source has room, worse ones fill at most the
    # fragment-sized remainder it had to leave — or all of a remainder under two fragments
    # that it could not take whole (no part of it was a valid split); and none that could
    # have taken all that is left was passed over.
    used = {f.source_id: f.amount for f in fills}
    for s in sources:
        if not eligible(request, s):
            continue
        room = min([s.amount - used.get(s.id, 0), *(remaining[p] for p in s.pools)])
        if room >= min_fill:
            worse = sum(
                f.amount for f in fills if cheaper_first(by_id[f.source_id]) > cheaper_first(s)
            )
            assert worse <= min_fill or room < worse + left < 2 * min_fill
        assert not (0 < left <= room)


@given(books(), st.randoms())
def test_a_book_replayed_in_any_order_fills_the_same(
    book: tuple[Request, list[Source], dict[str, int], int], rnd: random.Random
) -> None:
    request, sources, pools, min_fill = book
    shuffled = list(sources)
    rnd.shuffle(shuffled)
    assert best_execution(request, shuffled, pools, min_fill=min_fill) == best_execution(
        request, sources, pools, min_fill=min_fill
    )


@given(books())
def test_a_recorded_book_replays_to_the_fills_it_recorded(
    book: tuple[Request, list[Source], dict[str, int], int],
) -> None:
    """What an execution stores (its book and its fills, as text) reads back to the same
    book, whose execution gives the same fills: replaying reproduces the fills."""
    request, sources, pools, min_fill = book
    recorded = Book(request, tuple(sources), pools, min_fill)
    fills = recorded.execute()
    stored_book, stored_fills = book_json(recorded), fills_json(fills)
    assert book_of(stored_book) == recorded
    assert fills_of(stored_fills) == fills
    assert book_of(stored_book).execute() == fills_of(stored_fills)


@settings(max_examples=300)
@given(st.integers(0, 10**9), rates, st.integers(1, 365))
def test_an_early_payment_buys_at_most_the_face_its_cash_pays_for(
    cash: int, apr: Decimal, days: int
) -> None:
    face = face_for_cash(cash, apr, days)
    assert face - discount(face, apr, days) <= cash  # never beyond the cash offered
    assert face + 1 - discount(face + 1, apr, days) > cash  # and the most it can


ON, MATURITY = date(2026, 12, 1), date(2027, 3, 1)


@st.composite
def auctions(draw: st.DrawFn) -> tuple[Programme, list[Bid], int, bool]:
    same_maturity = draw(st.booleans())
    min_fill = 1 if same_maturity else draw(st.sampled_from([1, 100, 10_000]))
    programme = Programme(1, "core", draw(st.integers(0, 10**7)), draw(rates))
    bids = [
        Bid(i, f"h{i % 4}", 100 + i, draw(st.integers(0, 10**6)), draw(rates),
            MATURITY if same_maturity else date(2027, draw(st.integers(1, 6)), 1),
            draw(st.integers(0, 5)))
        for i in range(1, draw(st.integers(0, 10)) + 1)
    ]  # fmt: skip
    return programme, bids, min_fill, same_maturity


@settings(max_examples=400)
@given(auctions())
def test_a_clearing_pays_the_best_bids_first_within_the_cash_and_hurdle(
    auction: tuple[Programme, list[Bid], int, bool],
) -> None:
    programme, bids, min_fill, same_maturity = auction
    done = clear(programme, bids, on=ON, min_fill=min_fill)
    by_id = {b.id: b for b in bids}
    assert done.cash_used == sum(c.paid for c in done.cleared) <= programme.cash
    for c in done.cleared:
        bid = by_id[c.bid_id]
        assert c.apr == bid.apr >= programme.hurdle
        assert min_fill <= c.face <= bid.amount
        assert bid.amount - c.face == 0 or bid.amount - c.face >= min_fill
        days = (bid.maturity - ON).days
        assert c.paid == c.face - discount(c.face, c.apr, days)
    assert done.rate == min((c.apr for c in done.cleared), default=None)
    if same_maturity:  # then a better bid left out means the cash was gone
        faces = {c.bid_id: c.face for c in done.cleared}
        for c in done.cleared:
            for b in bids:
                if b.apr >= programme.hurdle and best_bid_first(b) < best_bid_first(
                    by_id[c.bid_id]
                ):
                    assert b.amount - faces.get(b.id, 0) <= min_fill


@settings(max_examples=60, deadline=None)
@given(auctions(), st.integers(1, 10**6))
def test_the_certain_rate_clears_and_a_step_below_it_does_not(
    auction: tuple[Programme, list[Bid], int, bool], amount: int
) -> None:
    programme, bids, min_fill, _ = auction
    rate = certain_rate(programme, bids, amount, MATURITY, on=ON, min_fill=min_fill)
    if rate is None:
        return
    mine = Bid(10**6, "me", 1, amount, rate, MATURITY, 10**6)
    cleared = clear(programme, [*bids, mine], on=ON, min_fill=min_fill).cleared
    assert any(c.bid_id == mine.id and c.face == amount for c in cleared)
    lower = rate - Decimal("0.0001")
    if lower >= max(programme.hurdle, Decimal(0)):
        below = Bid(10**6, "me", 1, amount, lower, MATURITY, 10**6)
        assert not any(c.bid_id == below.id and c.face == amount
                       for c in clear(programme, [*bids, below], on=ON,
                                      min_fill=min_fill).cleared)  # fmt: skip
