"""The market's view: what was asked, quoted and filled, unmet and idle, by group."""

from __future__ import annotations

from decimal import Decimal

import pytest

from capillary.domain.errors import ValidationError
from capillary.domain.market_view import FillRow, QuoteRow, RequestRow, summarize

DAY = 86_400 * 10**6
T0 = 1_790_000_000 * 10**6  # 2026-09-21
REQUESTS = [
    RequestRow(1, "core", "CNY", 2, 80, 1_000, 1_000, "filled", T0),
    RequestRow(2, "core", "CNY", 3, 150, 500, 200, "open", T0 + DAY),
    RequestRow(3, "other", "CNY", 3, 20, 300, 0, "expired", T0 + 40 * DAY),
    RequestRow(4, "core", "USD", 3, 20, 700, 0, "open", T0),
]
QUOTES = [QuoteRow(1, 600, 600), QuoteRow(1, 600, 400), QuoteRow(2, 800, 200)]
FILLS = [
    FillRow(1, 600, Decimal("0.04"), T0 + 60 * 10**6),
    FillRow(1, 400, Decimal("0.05"), T0 + 120 * 10**6),
    FillRow(2, 200, Decimal("0.06"), T0 + DAY + 30 * 10**6),
]


def test_the_whole_market_in_each_currency() -> None:
    cny, usd = summarize(REQUESTS, QUOTES, FILLS)
    assert (cny.currency, cny.requests, cny.requested, cny.quoted, cny.filled) == (
        "CNY", 3, 1_800, 2_000, 1_200,
    )  # fmt: skip
    assert (cny.unmet, cny.idle, cny.fills) == (600, 800, 3)
    # Weighted: (600×4% + 400×5% + 200×6%) / 1,200 = 4.666667%.
    assert cny.average_rate == Decimal("0.046667")
    assert (cny.lowest_rate, cny.median_rate, cny.highest_rate) == (
        Decimal("0.04"), Decimal("0.05"), Decimal("0.06"),
    )  # fmt: skip
    assert cny.median_seconds_to_cash == 60
    assert (usd.requested, usd.filled, usd.unmet, usd.average_rate) == (700, 0, 700, None)


def test_by_tier_tenor_obligor_and_month() -> None:
    tiers = {(s.group, s.currency): s.requested for s in summarize(REQUESTS, QUOTES, FILLS,
                                                                  by="tier")}  # fmt: skip
    assert tiers == {("tier 2", "CNY"): 1_000, ("tier 3", "CNY"): 800, ("tier 3", "USD"): 700}
    tenors = [s.group for s in summarize(REQUESTS, QUOTES, FILLS, by="tenor")]
    assert tenors == ["0-30", "0-30", "31-90", "91-180"]
    obligors = {s.group: s.unmet for s in summarize(REQUESTS, QUOTES, FILLS, by="obligor")
                if s.currency == "CNY"}  # fmt: skip
    assert obligors == {"core": 300, "other": 300}
    months = [s.group for s in summarize(REQUESTS, QUOTES, FILLS, by="month")]
    assert months == ["2026-09", "2026-09", "2026-10"]
    with pytest.raises(ValidationError):
        summarize(REQUESTS, QUOTES, FILLS, by="funder")
