"""The demo economy's report (issue 12): what the platform did, read back from the store
through the services and a few aggregate queries — volume issued, passed down, financed and
settled; the reach at each tier (who received certificates, who turned them into cash, how
soon, at what rate against what it would pay alone, and what that saved); supply and demand
in the market; overdue cases and recourse; and the conservation checks. A plain dictionary,
written as JSON; the terminal and the HTML page render it."""

from __future__ import annotations

import statistics
from collections import defaultdict
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from capillary.adapters import report_queries
from capillary.adapters.report_queries import FillRecord
from capillary.bootstrap import Platform
from capillary.domain.access import Principal, UserRole
from capillary.domain.market_view import Summary
from capillary.simulation.economy import Economy
from capillary.simulation.run import Stats

DAY_BASE = 360  # ACT/360, as the platform prices


def build(platform: Platform, economy: Economy, stats: Stats, *, start: date,
          elapsed: float) -> dict[str, Any]:  # fmt: skip
    """The report of a finished simulation (``elapsed``: its seconds, for the record)."""
    auditor = Principal(economy.auditor, "demo-report", frozenset(
        economy.firm(economy.auditor).roles), UserRole.READ_ONLY)  # fmt: skip
    db = platform.ledger.db
    figures = db.transaction(report_queries.read, readonly=True)
    tiers = {f.code: f.tier for f in economy.firms}
    standalone = {f.code: f.standalone_rate for f in economy.firms}
    suppliers_at: dict[int, int] = defaultdict(int)
    for f in economy.firms:
        if f.tier >= 1:
            suppliers_at[f.tier] += 1
    reach = []
    for tier in sorted(suppliers_at):
        received = [c for c, face in figures.received.items() if tiers.get(c) == tier and face]
        fills = [x for x in figures.fills if tiers.get(x.holder) == tier]
        financed = sum(x.amount for x in fills)
        cashed = {x.holder for x in fills}
        saved = 0.0
        weighted_rate = weighted_alone = Decimal(0)
        to_cash, to_maturity, ahead = [], [], []
        for x in fills:
            filled_on = datetime.fromtimestamp(x.at / 1e6, UTC).date()
            left = (x.maturity - filled_on).days
            alone = standalone[x.holder]
            saved += float(x.amount * (alone - x.rate) * left / DAY_BASE)
            weighted_rate += x.rate * x.amount
            weighted_alone += alone * x.amount
            invoiced = _invoiced_on(x, figures.fragments, stats)
            if invoiced is not None:
                to_cash.append((filled_on - invoiced).days)
                to_maturity.append((x.maturity - invoiced).days)
            ahead.append(left)
        top = max(received, key=lambda c: (figures.received[c], c)) if received else None
        holders = [c for c, face in figures.holding.items() if tiers.get(c) == tier and face]
        holds = max(holders, key=lambda c: (figures.holding[c], c)) if holders else None
        reach.append({
            "tier": tier,
            "most_reached": top,
            "holds_most_now": holds,
            "suppliers": suppliers_at[tier],
            "received": len(received),
            "received_face": sum(figures.received[c] for c in received),
            "cashed": len(cashed),
            "financed_face": financed,
            "fills": len(fills),
            "rate": _rate(weighted_rate / financed) if financed else None,
            "standalone_rate": _rate(weighted_alone / financed) if financed else None,
            "median_days_invoice_to_cash": _median(to_cash),
            "median_days_invoice_to_maturity": _median(to_maturity),
            "median_days_paid_ahead_of_maturity": statistics.median(ahead) if ahead else None,
            "saved": round(saved),
        })  # fmt: skip
    view = platform.market.view(principal=auditor, by="tier")
    monthly = platform.market.view(principal=auditor, by="month")
    verify = platform.books.verify(principal=auditor)
    mismatches = platform.books.check_balances(principal=auditor)
    findings = platform.books.reconcile(principal=auditor)
    settled = figures.certificates.get("settled", (0, 0))
    financed_by_month: dict[str, int] = defaultdict(int)
    for x in figures.fills:
        financed_by_month[datetime.fromtimestamp(x.at / 1e6, UTC).strftime("%Y-%m")] += x.amount
    months = sorted(set(figures.issued_by_month) | set(financed_by_month))
    return {
        "currency": "CNY",
        "amounts": "minor units (fen)",
        "economy": {
            "seed": economy.seed,
            "organizations": len(economy.firms),
            "suppliers_by_tier": {str(t): n for t, n in sorted(suppliers_at.items())},
            "cores": [c.code for c in economy.cores],
            "funders": [f.code for f in economy.funders],
            "links": len(economy.links),
            "start": start.isoformat(),
            "days": stats.days,
            "seconds": round(elapsed, 1),
            "seconds_by_step": {
                k: round(v, 1) for k, v in sorted(stats.seconds.items(), key=lambda kv: -kv[1])
            },
        },
        "trade": {
            "orders": stats.orders,
            "deliveries": stats.deliveries,
            "invoices": stats.invoices,
            "disputed": stats.exceptions,
            "payables_confirmed": stats.payables,
        },
        "volume": {
            "issued": {"count": stats.issued, "face": stats.issued_face},
            "transferred": {"count": figures.transfers[0], "face": figures.transfers[1]},
            "financed": {
                "count": len(figures.fills),
                "face": sum(x.amount for x in figures.fills),
                "by_early_payment": sum(x.amount for x in figures.fills if x.early_payment),
            },
            "settled": {"count": settled[0], "face": settled[1]},
            "certificates_by_status": {
                k: {"count": v[0], "face": v[1]} for k, v in sorted(figures.certificates.items())
            },
        },
        "reach": reach,
        "monthly": [
            {
                "month": m,
                "issued": figures.issued_by_month.get(m, 0),
                "financed": financed_by_month.get(m, 0),
            }
            for m in months
        ],
        "market": {
            "by_tier": [_summary(s) for s in view],
            "by_month": [_summary(s) for s in monthly],
        },
        "overdue": {
            "certificates": figures.overdue,
            "late_fundings": stats.late_fundings,
            "recourse_claims": figures.recourse_claims[0],
            "recourse_amount": figures.recourse_claims[1],
            "recourse_collected": figures.recourse_collected[0],
            "recourse_collected_amount": figures.recourse_collected[1],
            "penalty_interest_paid": figures.penalty_paid,
        },
        "checks": {
            "ledger_chain_intact": verify.ok,
            "journal_entries": verify.entries,
            "balances_equal_postings": not mismatches,
            "books_reconcile": not findings,
            "findings": [f"{f.kind}: {f.subject}: {f.message}" for f in findings][:20],
        },
        "sample_certificate": [
            {
                "fragment": i,
                "parent": parent,
                "holder": holder,
                "amount": amount,
                "status": status,
                "depth": depth,
                "tier": tiers.get(holder),
            }
            for i, parent, holder, amount, status, depth in figures.sample
        ],
        "refusals": dict(sorted(stats.refusals.items())),
    }


def _invoiced_on(fill: FillRecord, fragments: dict[int, tuple[int | None, str, int]],
                 stats: Stats) -> date | None:  # fmt: skip
    """The date of the invoice that the fragment a fill sold paid: up from the fragment the
    funder bought to the one its seller received (as payment, or issued to it)."""
    parent = fragments[fill.fragment_id][0]
    if parent is None:
        return None
    while True:
        up, _, certificate = fragments[parent]
        if up is None:
            return stats.invoiced_on_certificate.get(certificate)
        if fragments[up][1] != fill.holder:
            return stats.invoiced_on.get(parent)
        parent = up


def _median(values: list[int]) -> float | None:
    return statistics.median(values) if values else None


def _rate(value: Decimal) -> str:
    return f"{value.quantize(Decimal('0.0001'))}"


def _summary(s: Summary) -> dict[str, Any]:
    return {"group": s.group, "requests": s.requests, "requested": s.requested,
            "quoted": s.quoted, "filled": s.filled, "unmet": s.unmet, "expired": s.expired,
            "idle": s.idle, "average_rate": None if s.average_rate is None else str(s.average_rate),
            "spread": None if s.spread is None else str(s.spread),
            "median_seconds_to_cash": s.median_seconds_to_cash}  # fmt: skip
