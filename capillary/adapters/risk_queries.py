"""The certificate network a stress test runs on, read in bulk: who holds how much of each
obligor's outstanding certificates, what was sold with recourse and is still outstanding
(the fragment bought, or what is left of it after the buyer sold it on), and everyone's
cash."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy.engine import Connection

from capillary.adapters.driver_sql import day, rows
from capillary.domain.contagion import Graph, Holding, RecourseSale

OUTSTANDING = "('active', 'overdue')"  # of a certificate, and of its live fragments

_HOLDINGS = f"""
SELECT c.obligor, f.holder, SUM(f.amount), MIN(f.tier)
FROM fragments f JOIN certificates c ON c.id = f.certificate_id
WHERE f.status IN {OUTSTANDING} AND c.status IN {OUTSTANDING} AND c.currency = ?
GROUP BY c.obligor, f.holder
"""

# A financing's fragment, or its descendants still held (the buyer sold some on) — but not
# what is back with the seller (a collected recourse claim returns the fragment to it) or
# with the obligor (bought back early): no one can claim on the seller for those. The
# pattern is a parameter: a literal percent sign is a placeholder to psycopg.
_SALES = f"""
SELECT c.obligor, fi.seller, fi.funder, SUM(d.amount), MIN(s.tier)
FROM financings fi
JOIN fragments f ON f.id = fi.fragment_id
JOIN fragments s ON s.id = f.parent_id
JOIN certificates c ON c.id = f.certificate_id
JOIN fragments d ON d.certificate_id = f.certificate_id
 AND (d.id = f.id OR d.path LIKE f.path || ?) AND d.status IN {OUTSTANDING}
 AND d.holder <> fi.seller AND d.holder <> c.obligor
WHERE fi.recourse = ? AND c.status IN {OUTSTANDING} AND c.currency = ?
GROUP BY c.obligor, fi.seller, fi.funder
"""

_CASH = """
SELECT org, credits_posted - debits_posted FROM accounts
WHERE code = 'cash' AND unit = ? AND org IS NOT NULL
"""


Network = tuple[list[Holding], dict[str, int], list[RecourseSale], dict[str, int]]


def network(conn: Connection, currency: str) -> Network:
    """Holdings, each holder's shallowest tier (a seller's where it sold), sales with
    recourse, cash by organization."""
    holdings: list[Holding] = []
    tiers: dict[str, int] = {}
    for obligor, holder, amount, tier in rows(conn, _HOLDINGS, [currency]):
        holdings.append(Holding(obligor, holder, int(amount)))
        tiers[holder] = min(int(tier), tiers.get(holder, int(tier)))
    sales = []
    for obligor, seller, buyer, amount, tier in rows(conn, _SALES, ["/%", True, currency]):
        sales.append(RecourseSale(obligor, seller, buyer, int(amount)))
        tiers[seller] = min(int(tier), tiers.get(seller, int(tier)))  # as it sold
    cash = {org: int(v) for org, v in rows(conn, _CASH, [currency]) if v}
    return holdings, tiers, sales, cash


_LADDER = f"""
SELECT c.obligor, c.maturity, c.status, SUM(f.amount)
FROM fragments f JOIN certificates c ON c.id = f.certificate_id
WHERE f.status IN {OUTSTANDING} AND c.status IN {OUTSTANDING} AND c.currency = ?
GROUP BY c.obligor, c.maturity, c.status
"""


def outstanding_by_maturity(conn: Connection, currency: str) -> list[tuple[str, date, bool, int]]:
    """(obligor, maturity, overdue?, outstanding face) of the outstanding certificates."""
    return [(o, day(m), s == "overdue", int(a))
            for o, m, s, a in rows(conn, _LADDER, [currency])]  # fmt: skip


def _columns(found: list[tuple[Any, ...]], width: int) -> list[list[Any]]:
    return [list(c) for c in zip(*found, strict=True)] if found else [[] for _ in range(width)]


def graph(conn: Connection, currency: str) -> tuple[Graph, dict[str, int], dict[str, int]]:
    """The network in columns for a stress test (no object per holding): holdings and
    sales with recourse, each holder's shallowest tier (a seller's where it sold), cash."""
    held = rows(conn, _HOLDINGS, [currency])
    sold = rows(conn, _SALES, ["/%", True, currency])
    obligor, holder, amount, tier = _columns(held, 4)
    s_ob, seller, buyer, s_amount, s_tier = _columns(sold, 5)
    tiers: dict[str, int] = {}
    for org, t in zip(holder + seller, tier + s_tier, strict=True):
        if t < tiers.get(org, t + 1):
            tiers[org] = int(t)
    cash = {org: int(v) for org, v in rows(conn, _CASH, [currency]) if v}
    return (Graph(obligor, holder, [int(a) for a in amount], s_ob, seller, buyer,
                  [int(a) for a in s_amount]), tiers, cash)  # fmt: skip


def operators(conn: Connection) -> list[str]:
    """The organizations that operate the platform (told of its risk alerts)."""
    found = rows(conn, "SELECT code, roles FROM organizations WHERE roles LIKE ?", ["%operator%"])
    return sorted(code for code, roles in found if "operator" in roles.split(","))


def funders_and_cores(conn: Connection) -> dict[str, str]:
    """The funders (``"funder"``) and core enterprises (``"core"``, unless also a funder):
    everyone else in a network is a supplier, grouped by its tier."""
    found = rows(conn, "SELECT code, roles FROM organizations WHERE roles LIKE ? "
                       "OR roles LIKE ?", ["%funder%", "%core%"])  # fmt: skip
    out = {}
    for code, roles in found:
        named = roles.split(",")
        if "funder" in named:
            out[code] = "funder"
        elif "core" in named:
            out[code] = "core"
    return out
