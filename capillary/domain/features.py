"""Features of an organization from the platform's own records, as of a day: what a lender
would want to know of a small supplier and no bank sees — how long it has traded here, how
much and how it grows, how many buyers and how concentrated, how its deliveries and
invoices fare, how it paid as an obligor, the certificates that reached it and left it, and
how it financed them. Everything counted is dated on or before the day (no look-ahead); the
windows end on it. Amounts in minor units."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

WINDOW_DAYS = 365
QUARTER_DAYS = 90

#: The features in order, as their columns are named.
NAMES: tuple[str, ...] = (
    "tenure_days", "sales_90d", "sales_prior_90d", "sales_growth", "sales_365d",
    "purchases_365d", "buyers", "buyer_hhi", "suppliers", "invoices_365d",
    "invoice_exception_rate", "deliveries_365d", "delivery_acceptance_rate",
    "certificates_issued_365d", "certificates_matured", "certificates_overdue",
    "on_time_settlement_rate", "certificates_in_365d", "certificates_out_365d",
    "financings_365d", "financed_365d",
)  # fmt: skip


@dataclass(slots=True)
class Tally:
    """What the store's bulk reads found for one organization."""

    tenure_days: int = 0
    roles: str = ""  # not a feature: who it is on the platform (scoring skips funders)
    sales_90d: int = 0
    sales_prior_90d: int = 0
    sales_365d: int = 0
    purchases_365d: int = 0
    sales_by_buyer: dict[str, int] | None = None
    suppliers: int = 0
    invoices_365d: int = 0
    invoice_exceptions: int = 0
    deliveries_365d: int = 0
    deliveries_accepted: int = 0
    certificates_issued_365d: int = 0
    certificates_matured: int = 0
    certificates_overdue: int = 0
    certificates_in_365d: int = 0
    certificates_out_365d: int = 0
    financings_365d: int = 0
    financed_365d: int = 0


def _rate(part: int, whole: int) -> float | None:
    return None if whole == 0 else part / whole


def features(tally: Tally) -> dict[str, float | None]:
    """The feature row of one organization (``None`` where there is nothing to measure)."""
    by_buyer = tally.sales_by_buyer or {}
    total = sum(by_buyer.values())
    hhi = sum((v / total) ** 2 for v in by_buyer.values()) if total else None
    growth = (None if tally.sales_prior_90d == 0
              else tally.sales_90d / tally.sales_prior_90d - 1)  # fmt: skip
    return {
        "tenure_days": tally.tenure_days,
        "sales_90d": tally.sales_90d,
        "sales_prior_90d": tally.sales_prior_90d,
        "sales_growth": growth,
        "sales_365d": tally.sales_365d,
        "purchases_365d": tally.purchases_365d,
        "buyers": len([v for v in by_buyer.values() if v > 0]),
        "buyer_hhi": hhi,
        "suppliers": tally.suppliers,
        "invoices_365d": tally.invoices_365d,
        "invoice_exception_rate": _rate(tally.invoice_exceptions, tally.invoices_365d),
        "deliveries_365d": tally.deliveries_365d,
        "delivery_acceptance_rate": _rate(tally.deliveries_accepted, tally.deliveries_365d),
        "certificates_issued_365d": tally.certificates_issued_365d,
        "certificates_matured": tally.certificates_matured,
        "certificates_overdue": tally.certificates_overdue,
        "on_time_settlement_rate": (
            None
            if tally.certificates_matured == 0
            else 1 - tally.certificates_overdue / tally.certificates_matured
        ),
        "certificates_in_365d": tally.certificates_in_365d,
        "certificates_out_365d": tally.certificates_out_365d,
        "financings_365d": tally.financings_365d,
        "financed_365d": tally.financed_365d,
    }


def table(tallies: Mapping[str, Tally]) -> dict[str, dict[str, float | None]]:
    return {org: features(t) for org, t in sorted(tallies.items())}


def columns(found: Mapping[str, Mapping[str, float | None]]) -> tuple[list[str], dict[str, Any]]:
    """The organizations in order and each feature as a float array (NaN for missing): what
    :func:`capillary.domain.scoring.batch.score_columns` takes."""
    orgs = list(found)
    nan = float("nan")
    return orgs, {name: np.fromiter((nan if (v := found[o][name]) is None else v for o in orgs),
                                    dtype=float, count=len(orgs))
                  for name in NAMES}  # fmt: skip
