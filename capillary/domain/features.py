"""Features of an organization from the platform's own records, as of a day: what a lender
would want to know of a small supplier and no bank sees — how long it has traded here, how
much and how it grows, how many buyers and how concentrated, how its deliveries and
invoices fare, how it paid as an obligor, the certificates that reached it and left it, and
how it financed them. Everything counted is dated on or before the day (no look-ahead); the
windows end on it. Amounts in minor units.

Columnar: the store's grouped reads give one array per count (:data:`COUNTS`), aligned
with the organizations; the features are worked out from them for everyone at once."""

from __future__ import annotations

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

#: What the store counts for each organization, as of the day.
COUNTS: tuple[str, ...] = (
    "tenure_days", "sales_90d", "sales_prior_90d", "sales_365d", "purchases_365d",
    "buyers", "sales_squared",  # Σ over buyers of (sales to it)², for the HHI
    "suppliers", "invoices_365d", "invoice_exceptions", "deliveries_365d",
    "deliveries_accepted", "certificates_issued_365d", "certificates_matured",
    "certificates_overdue", "certificates_in_365d", "certificates_out_365d",
    "financings_365d", "financed_365d",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Counted:
    """The organizations registered by the end of the day, their roles, and what the store
    counted of each (arrays aligned with ``orgs``)."""

    orgs: list[str]
    roles: list[str]  # comma-separated, as registered
    counts: dict[str, Any]

    def only(self, keep: Any) -> Counted:
        """Those where ``keep`` (booleans aligned with ``orgs``) is true."""
        mask = np.asarray(keep, dtype=bool)
        picked = np.flatnonzero(mask).tolist()
        return Counted([self.orgs[i] for i in picked], [self.roles[i] for i in picked],
                       {n: a[mask] for n, a in self.counts.items()})  # fmt: skip


def _ratio(part: Any, whole: Any) -> Any:
    """part / whole, NaN where there is nothing to measure (whole 0)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(whole > 0, part / np.where(whole > 0, whole, 1), np.nan)


def columns(counted: Counted) -> dict[str, Any]:
    """Every feature as a float array aligned with ``counted.orgs``, NaN where there is
    nothing to measure (a rate of nothing, growth from nothing)."""
    c = {n: np.asarray(a, dtype=float) for n, a in counted.counts.items()}
    sales, matured = c["sales_365d"], c["certificates_matured"]
    return {
        "tenure_days": c["tenure_days"],
        "sales_90d": c["sales_90d"],
        "sales_prior_90d": c["sales_prior_90d"],
        "sales_growth": _ratio(c["sales_90d"], c["sales_prior_90d"]) - 1,
        "sales_365d": sales,
        "purchases_365d": c["purchases_365d"],
        "buyers": c["buyers"],
        "buyer_hhi": _ratio(c["sales_squared"], sales * sales),
        "suppliers": c["suppliers"],
        "invoices_365d": c["invoices_365d"],
        "invoice_exception_rate": _ratio(c["invoice_exceptions"], c["invoices_365d"]),
        "deliveries_365d": c["deliveries_365d"],
        "delivery_acceptance_rate": _ratio(c["deliveries_accepted"], c["deliveries_365d"]),
        "certificates_issued_365d": c["certificates_issued_365d"],
        "certificates_matured": c["certificates_matured"],
        "certificates_overdue": c["certificates_overdue"],
        "on_time_settlement_rate": 1 - _ratio(c["certificates_overdue"], matured),
        "certificates_in_365d": c["certificates_in_365d"],
        "certificates_out_365d": c["certificates_out_365d"],
        "financings_365d": c["financings_365d"],
        "financed_365d": c["financed_365d"],
    }


def table(counted: Counted) -> dict[str, dict[str, float | None]]:
    """The features as a row per organization (``None`` where there is nothing to measure),
    in code order: for people and files, not for a million organizations."""
    cols = columns(counted)
    lists = {n: cols[n].tolist() for n in NAMES}
    found = {}
    for i, org in enumerate(counted.orgs):
        row: dict[str, float | None] = {}
        for n in NAMES:
            v = lists[n][i]
            row[n] = None if v != v else (int(v) if v.is_integer() and n in COUNTS else v)
        found[org] = row
    return dict(sorted(found.items()))
