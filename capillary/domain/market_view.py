"""Supply and demand, shown (DESIGN.md §6): what was asked, quoted and filled in the
marketplace, the unmet demand and the idle supply, the rates (and their spread over the base
rate) and the time to cash, by obligor, its industry, tier, tenor or month. A pure summary of
the book's rows; the services read them. An obligor's early payment counts as supply where it
filled a request (quoted and filled at once); what it offered and nobody took is the
programme's to show, not a request's."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from capillary.domain.errors import ValidationError
from capillary.domain.market_rules import tenor_bucket

DIMENSIONS = ("all", "obligor", "industry", "tier", "tenor", "month")


@dataclass(frozen=True, slots=True)
class RequestRow:
    id: int
    obligor: str
    currency: str
    tier: int
    days: int  # days to maturity when asked
    amount: int
    filled: int
    status: str
    created_at: int  # µs
    industry: str | None = None  # the obligor's


@dataclass(frozen=True, slots=True)
class QuoteRow:
    request_id: int
    amount: int
    filled: int


@dataclass(frozen=True, slots=True)
class FillRow:
    request_id: int
    amount: int
    rate: Decimal
    at: int  # µs


@dataclass(frozen=True, slots=True)
class Summary:
    group: str
    currency: str
    requests: int
    requested: int
    quoted: int
    filled: int
    unmet: int  # requested and not filled (open, expired or cancelled)
    expired: int  # of the unmet, what expired unfilled
    idle: int  # quoted and not filled
    fills: int
    average_rate: Decimal | None  # weighted by amount
    lowest_rate: Decimal | None
    median_rate: Decimal | None
    highest_rate: Decimal | None
    median_seconds_to_cash: int | None  # from the request to each fill
    spread: Decimal | None = None  # the average rate over the base rate given


def _key(dimension: str) -> Callable[[RequestRow], str]:
    return {
        "all": lambda r: "all",
        "obligor": lambda r: r.obligor,
        "industry": lambda r: r.industry or "unstated",
        "tier": lambda r: f"tier {r.tier}",
        "tenor": lambda r: tenor_bucket(r.days) or "beyond a year",
        "month": lambda r: datetime.fromtimestamp(r.created_at / 1e6, UTC).strftime("%Y-%m"),
    }[dimension]


def summarize(
    requests: Sequence[RequestRow],
    quotes: Sequence[QuoteRow],
    fills: Sequence[FillRow],
    *,
    by: str = "all",
    base_rates: dict[str, Decimal] | None = None,
) -> list[Summary]:
    """One summary per group of ``by`` and currency (amounts never add across currencies),
    in group order; with the average rate's spread over each currency's ``base_rates``."""
    if by not in DIMENSIONS:
        raise ValidationError(f"View the market by one of {', '.join(DIMENSIONS)}; got {by!r}.")
    key = _key(by)
    group_of = {r.id: (key(r), r.currency) for r in requests}
    created = {r.id: r.created_at for r in requests}
    groups: dict[tuple[str, str], dict[str, list[Any]]] = defaultdict(
        lambda: {"requests": [], "quotes": [], "fills": []}
    )
    for r in requests:
        groups[group_of[r.id]]["requests"].append(r)
    for q in quotes:
        if q.request_id in group_of:
            groups[group_of[q.request_id]]["quotes"].append(q)
    for f in fills:
        if f.request_id in group_of:
            groups[group_of[f.request_id]]["fills"].append(f)
    out = []
    for (group, currency), rows in sorted(groups.items()):
        reqs, qs, fs = rows["requests"], rows["quotes"], rows["fills"]
        requested = sum(r.amount for r in reqs)
        filled = sum(f.amount for f in fs)
        quoted = sum(q.amount for q in qs)
        rates = sorted(f.rate for f in fs)
        waits = sorted((f.at - created[f.request_id]) // 1_000_000 for f in fs)
        weighted = (sum(f.rate * f.amount for f in fs) / filled) if filled else None
        expired = sum(r.amount - r.filled for r in reqs if r.status == "expired")
        average = None if weighted is None else weighted.quantize(Decimal("1e-6"))
        base = (base_rates or {}).get(currency)
        out.append(Summary(
            group, currency, len(reqs), requested, quoted, filled, requested - filled,
            expired, quoted - sum(q.filled for q in qs), len(fs), average,
            rates[0] if rates else None, rates[len(rates) // 2] if rates else None,
            rates[-1] if rates else None, waits[len(waits) // 2] if waits else None,
            None if average is None or base is None else average - base,
        ))  # fmt: skip
    return out
