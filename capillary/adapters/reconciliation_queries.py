"""The totals reconciliation compares, each one aggregate query (no row walks in Python):
see :mod:`capillary.domain.reconciliation`."""

from __future__ import annotations

from collections import defaultdict

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from capillary.adapters import certificate_tables as ct
from capillary.adapters import trade_tables as tt
from capillary.domain.reconciliation import Books

_LIVE = ("active", "overdue")
_accounts = sa.table(
    "accounts",
    sa.column("org", sa.String), sa.column("code", sa.String), sa.column("unit", sa.String),
    sa.column("debits_posted", sa.BigInteger), sa.column("credits_posted", sa.BigInteger),
)  # fmt: skip


def load_books(conn: Connection) -> tuple[Books, dict[str, str]]:
    """The books' totals, and each certificate unit's currency."""
    c, f, a = ct.certificates, ct.fragments, _accounts
    unit = sa.literal("CERT-") + c.c.number
    fragments_held = {
        (r[0], r[1]): int(r[2])
        for r in conn.execute(
            sa.select(unit, f.c.holder, sa.func.sum(f.c.amount))
            .join(c, c.c.id == f.c.certificate_id)
            .where(f.c.status.in_(_LIVE))
            .group_by(c.c.number, f.c.holder)
        )
    }
    balances: dict[str, dict[tuple[str, str], int]] = defaultdict(dict)
    for org, code, acct_unit, debits, credits in conn.execute(
        sa.select(a.c.org, a.c.code, a.c.unit, a.c.debits_posted, a.c.credits_posted).where(
            a.c.code.in_(("held", "issued", "cash", "fees", "clearing"))
        )
    ):
        balances[code][(acct_unit, org)] = int(debits) - int(credits)
    held_accounts = {k: v for k, v in balances["held"].items() if v}
    issued_accounts = {u: -v for (u, _), v in balances["issued"].items() if v}
    live_faces: dict[str, int] = {}
    currency_of: dict[str, str] = {}
    for number, face, status, cur in conn.execute(
        sa.select(c.c.number, c.c.face, c.c.status, c.c.currency)
    ):
        currency_of[f"CERT-{number}"] = cur
        if status in _LIVE:
            live_faces[f"CERT-{number}"] = int(face)
    cl = ct.credit_lines
    credit_used = {
        (r.funder, r.obligor, r.currency): int(r.used)
        for r in conn.execute(sa.select(cl.c.funder, cl.c.obligor, cl.c.currency, cl.c.used))
    }
    funder_holdings = {
        (r[0], r[1], r[2]): int(r[3])
        for r in conn.execute(
            sa.select(f.c.holder, c.c.obligor, c.c.currency, sa.func.sum(f.c.amount))
            .join(c, c.c.id == f.c.certificate_id)
            .join(
                cl,
                sa.and_(
                    cl.c.funder == f.c.holder,
                    cl.c.obligor == c.c.obligor,
                    cl.c.currency == c.c.currency,
                ),
            )
            .where(f.c.status.in_(_LIVE))
            .group_by(f.c.holder, c.c.obligor, c.c.currency)
        )
    }
    p, cp = tt.payables, ct.certificate_payables
    allocated = (
        sa.select(cp.c.payable_id, sa.func.sum(cp.c.amount).label("allocated"))
        .join(c, c.c.id == cp.c.certificate_id)
        .where(c.c.status != "cancelled")
        .group_by(cp.c.payable_id)
        .subquery()
    )
    payables = {
        r[0]: (r[1], int(r[2]), int(r[3]))
        for r in conn.execute(
            sa.select(
                p.c.id, p.c.currency, p.c.amount - p.c.open_amount, allocated.c.allocated
            ).join(allocated, allocated.c.payable_id == p.c.id)
        )
    }
    cash_owed: dict[str, int] = defaultdict(int)
    for code in ("cash", "fees"):
        for (cur, _), net_debit in balances[code].items():
            cash_owed[cur] -= net_debit
    clearing = {cur: v for (cur, org), v in balances["clearing"].items() if org == "platform"}
    books = Books(
        fragments_held=fragments_held,
        held_accounts=held_accounts,
        live_faces=live_faces,
        issued_accounts=issued_accounts,
        credit_used={k: v for k, v in credit_used.items() if v or k in funder_holdings},
        funder_holdings=funder_holdings,
        payables=payables,
        cash_owed={k: v for k, v in cash_owed.items() if v},
        clearing={k: v for k, v in clearing.items() if v},
    )
    return books, currency_of
