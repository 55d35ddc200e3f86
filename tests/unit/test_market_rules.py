"""Standing rules and flat discounts: the rate a rule quotes, the limits it draws on, and a
flat discount read as the APR the pricing takes back to the same discount."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from capillary.domain.errors import InvalidRate
from capillary.domain.market import Fill, Request, best_execution
from capillary.domain.market_rules import (
    Context,
    StandingRule,
    apr_of_flat_discount,
    match_standing,
    pool_room,
    rule_pools,
    rule_rate,
    standing_sources,
    tenor_bucket,
)
from capillary.domain.pricing import DayCount, discount

LPR = Decimal("0.031")
RULE = StandingRule(
    7, "bank", {("AA", "31-90"): Decimal("0.008"), ("AA", "91-180"): Decimal("0.012"),
                ("A", "91-180"): Decimal("0.02")},
    cap_per_obligor=5_000_000_00, cap_per_tier=1_000_000_00, recourse=False,
)  # fmt: skip


@pytest.mark.parametrize(("days", "bucket"), [
    (0, None), (1, "0-30"), (30, "0-30"), (31, "31-90"), (90, "31-90"), (91, "91-180"),
    (180, "91-180"), (181, "181-365"), (365, "181-365"), (366, None),
])  # fmt: skip
def test_tenor_buckets(days: int, bucket: str | None) -> None:
    assert tenor_bucket(days) == bucket


def test_a_rule_quotes_base_plus_its_spread_where_it_names_one() -> None:
    assert rule_rate(RULE, LPR, Context("core", "AA", 3, 60, "CNY")) == Decimal("0.039")
    assert rule_rate(RULE, LPR, Context("core", "A", 3, 120, "CNY")) == Decimal("0.051")
    assert rule_rate(RULE, LPR, Context("core", "A", 3, 60, "CNY")) is None  # no spread
    assert rule_rate(RULE, LPR, Context("core", "AA", 3, 400, "CNY")) is None  # too long
    only = StandingRule(8, "bank", RULE.spreads, obligors=frozenset({"other"}))
    assert rule_rate(only, LPR, Context("core", "AA", 3, 60, "CNY")) is None


def test_a_rule_draws_on_its_line_and_its_caps() -> None:
    context = Context("core", "AA", 3, 60, "CNY")
    caps = rule_pools(RULE, context)
    room = pool_room(caps, {"cap:7:tier:3": 900_000_00, "cap:7:obligor:core": 10**12},
                     line_available=2_000_000_00)  # fmt: skip
    assert room == {
        "line:bank:core:CNY": 2_000_000_00,
        "cap:7:obligor:core": 0,  # used beyond its cap: nothing, never less
        "cap:7:tier:3": 100_000_00,
    }  # no total cap: that pool is left out


@given(fraction=st.integers(0, 5000).map(lambda bp: Decimal(bp) / 100_000),
       days=st.integers(1, 365), face=st.integers(1, 10**12),
       day_count=st.sampled_from(list(DayCount)))  # fmt: skip
def test_a_flat_discount_reads_as_the_apr_that_gives_it_back(
    fraction: Decimal, days: int, face: int, day_count: DayCount
) -> None:
    try:
        apr = apr_of_flat_discount(fraction, days, day_count)
    except InvalidRate:
        assert fraction * day_count.base / days >= Decimal("0.99999999995")  # 100% or more
        return
    flat = Decimal(face) * fraction
    # Priced at that APR, the discount is the flat one, to the rate's ten places.
    bound = 1 + Decimal(face) * days / day_count.base * Decimal("5e-11")
    assert abs(discount(face, apr, days, day_count) - flat) <= bound


def test_a_flat_discount_must_be_a_fraction_with_days_left() -> None:
    with pytest.raises(InvalidRate):
        apr_of_flat_discount(Decimal(1), 30)
    with pytest.raises(InvalidRate):
        apr_of_flat_discount(Decimal("0.01"), 0)
    with pytest.raises(InvalidRate):
        apr_of_flat_discount(Decimal("NaN"), 30)


@st.composite
def standing_books(draw: st.DrawFn) -> tuple[list[tuple[Request, Context]], list[StandingRule],
                                              dict[str, int]]:  # fmt: skip
    grades, buckets = ("AA", "A"), ("0-30", "31-90", "91-180")
    rules = [
        StandingRule(
            i, f"bank{i % 3}",
            {(g, b): Decimal(draw(st.integers(0, 300))) / 10_000
             for g in grades for b in buckets if draw(st.booleans())},
            cap_per_obligor=draw(st.sampled_from([None, 50_000, 200_000])),
            cap_per_tier=draw(st.sampled_from([None, 30_000, 80_000])),
        )
        for i in range(draw(st.integers(0, 6)))
    ]  # fmt: skip
    requests = [
        (Request(n, "h", draw(st.integers(100, 120_000)),
                 Decimal(draw(st.integers(0, 800))) / 10_000, None, draw(st.integers(0, 9))),
         Context(draw(st.sampled_from(["core", "core", "core2"])), draw(st.sampled_from(grades)),
                 draw(st.integers(1, 2)), draw(st.integers(1, 60)), "CNY"))
        for n in range(draw(st.integers(0, 12)))
    ]  # fmt: skip
    pools = {f"line:bank{b}:{o}:CNY": draw(st.integers(0, 300_000))
             for b in range(3) for o in ("core", "core2")}  # fmt: skip
    return requests, rules, pools


@settings(max_examples=300)
@given(standing_books())
def test_standing_rules_match_as_each_request_would_alone_in_time_order(
    book: tuple[list[tuple[Request, Context]], list[StandingRule], dict[str, int]],
) -> None:
    requests, rules, lines = book
    caps = {p: cap for r in rules for _, ctx in requests
            for p, cap in rule_pools(r, ctx).items() if cap is not None}  # fmt: skip
    pools = {**lines, **caps}
    fills, remaining = match_standing(requests, rules, LPR, pools, min_fill=100)
    # The same, request by request, each pricing every rule afresh: identical fills.
    expected: list[Fill] = []
    left = dict(pools)
    for request, context in sorted(requests, key=lambda rc: (rc[0].posted_at, rc[0].id)):
        made, left = best_execution(request, standing_sources(rules, LPR, context), left,
                                    min_fill=100)  # fmt: skip
        expected += made
    assert fills == expected
    for f in fills:
        assert f.amount >= 100
    by_request: dict[int, int] = {}
    for f in fills:
        by_request[f.request_id] = by_request.get(f.request_id, 0) + f.amount
    assert all(by_request[r.id] <= r.amount for r, _ in requests if r.id in by_request)
    assert all(v >= 0 for v in remaining.values())


def test_caps_per_tier_are_separate_for_requests_of_one_obligor() -> None:
    rule = StandingRule(1, "bank", {("AA", "31-90"): Decimal("0.01")}, cap_per_tier=50_000)
    line = {"line:bank:core:CNY": 10**9, "cap:1:tier:1": 50_000, "cap:1:tier:2": 50_000}
    requests = [
        (Request(1, "t1", 50_000, Decimal("0.05"), None, 0), Context("core", "AA", 1, 60, "CNY")),
        (Request(2, "t2", 50_000, Decimal("0.05"), None, 1), Context("core", "AA", 2, 60, "CNY")),
        (Request(3, "t2", 10_000, Decimal("0.05"), None, 2), Context("core", "AA", 2, 60, "CNY")),
    ]
    fills, remaining = match_standing(requests, [rule], LPR, line, min_fill=100)
    assert [(f.request_id, f.amount, f.rate) for f in fills] == [
        (1, 50_000, Decimal("0.041")),
        (2, 50_000, Decimal("0.041")),
    ]  # fmt: skip  (the third finds tier 2's cap spent)
    assert remaining["cap:1:tier:1"] == remaining["cap:1:tier:2"] == 0
