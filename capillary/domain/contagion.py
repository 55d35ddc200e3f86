"""How a default travels through the network of obligations: the Eisenberg–Noe clearing
vector, and a stress test on the certificate graph built on it.

Each organization owes others nominal amounts ``L[i, j]`` and holds external assets ``e_i``
(its cash). The clearing vector ``p`` is the largest solution of
``p_i = min(L̄_i, e_i + Σ_j Π_ji p_j)`` with ``Π_ij = L_ij / L̄_i``: each pays in full if
it can, else all it has, shared pro rata among its creditors (limited liability, absolute
priority). It is found by Eisenberg and Noe's fictitious-default algorithm: assume nobody
defaults, find who cannot pay even so, solve for the defaulters' payments with the others
paying in full, and repeat with the newly revealed defaulters until the set stands — at
most one round per organization, each round a sparse linear solve.

The stress test defaults chosen obligors (fully or partly: the share of what they owe that
they still pay), and, with recourse, adds what falls back on sellers: for every sale with
recourse, the seller owes its buyer the shortfall the obligor leaves on that face. A seller
that cannot meet it defaults in turn, and its other creditors lose. The recourse
obligations depend on the obligors' payments, so the clearing is repeated until they stand.

Amounts are solved in floating point (a stress test's estimate, not a posting) and
reported rounded half-even to the minor unit."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from capillary.domain.errors import ValidationError

TOLERANCE = 1e-9  # relative: a payment within this of what is owed is paid in full


@dataclass(frozen=True, slots=True)
class Clearing:
    payments: dict[str, float]  # what each debtor pays in all
    owed: dict[str, float]  # what each owes in all (L̄)
    defaulted: frozenset[str]  # pays less than it owes
    rounds: int

    def ratio(self, org: str) -> float:
        """The share of what ``org`` owes that it pays (1 if it owes nothing)."""
        owed = self.owed.get(org, 0.0)
        return 1.0 if owed <= 0 else self.payments[org] / owed


def clear(liabilities: Mapping[tuple[str, str], float], assets: Mapping[str, float]) -> Clearing:
    """The clearing vector of ``liabilities`` ((debtor, creditor) → nominal) given each
    organization's external ``assets`` (absent: none)."""
    import numpy as np
    from scipy.sparse import csr_matrix, identity
    from scipy.sparse.linalg import spsolve

    names = sorted({o for pair in liabilities for o in pair} | set(assets))
    index = {n: i for i, n in enumerate(names)}
    n = len(names)
    rows, cols, vals = [], [], []
    for (debtor, creditor), amount in liabilities.items():
        if amount > 0 and debtor != creditor:
            rows.append(index[debtor])
            cols.append(index[creditor])
            vals.append(float(amount))
    owed_matrix = csr_matrix((vals, (rows, cols)), shape=(n, n))
    owed = np.asarray(owed_matrix.sum(axis=1)).ravel()
    safe = np.where(owed > 0, owed, 1.0)
    share = csr_matrix(owed_matrix.multiply(1.0 / safe[:, None]))  # Π: rows sum to 1
    inflow = share.T.tocsr()  # (Πᵀ p)_i = Σ_j Π_ji p_j
    external = np.array([float(assets.get(name, 0.0)) for name in names])
    pay = owed.copy()
    defaulted = np.zeros(n, dtype=bool)
    rounds = 0
    while True:
        rounds += 1
        worth = external + inflow @ pay
        now = worth < owed * (1 - TOLERANCE)
        if rounds > 1 and not (now & ~defaulted).any():
            break
        defaulted |= now
        d = np.flatnonzero(defaulted)
        if d.size == 0:
            break
        solvent = np.flatnonzero(~defaulted)
        sub = inflow[d][:, d]
        rhs = external[d] + inflow[d][:, solvent] @ owed[solvent]
        solved = spsolve((identity(d.size, format="csc") - sub).tocsc(), rhs)
        pay = owed.copy()
        pay[d] = np.clip(np.atleast_1d(solved), 0.0, owed[d])
        if rounds > n + 1:
            raise ArithmeticError("the clearing did not settle")  # cannot happen: D grows
    return Clearing({names[i]: float(pay[i]) for i in range(n)},
                    {names[i]: float(owed[i]) for i in range(n)},
                    frozenset(names[i] for i in np.flatnonzero(defaulted)), rounds)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Holding:
    """``amount`` of ``obligor``'s certificates held by ``holder``."""

    obligor: str
    holder: str
    amount: int


@dataclass(frozen=True, slots=True)
class RecourseSale:
    """``amount`` of ``obligor``'s paper sold by ``seller`` to ``buyer`` with recourse."""

    obligor: str
    seller: str
    buyer: str
    amount: int


@dataclass(frozen=True, slots=True)
class StressResult:
    clearing: Clearing
    loss: dict[str, int]  # face held less what came of it, plus recourse paid (minor units)
    shortfall: dict[str, int]  # what each debtor owed and did not pay
    recourse_paid: dict[str, int]  # what fell back on each seller and it paid
    rounds: int  # clearings until the recourse obligations stood

    @property
    def total_loss(self) -> int:
        return sum(self.loss.values())


def stress(
    holdings: Sequence[Holding], sales: Sequence[RecourseSale], cash: Mapping[str, int],
    shocks: Mapping[str, float], *, recourse: bool = True, max_rounds: int = 100,
) -> StressResult:  # fmt: skip
    """The obligors in ``shocks`` pay only the given share (0: nothing) of what they owe on
    certificates; every other obligor pays in full. Sellers owe their buyers the shortfall
    on what they sold with recourse (when ``recourse``), out of their ``cash`` and what they
    are paid in turn."""
    for org, share in shocks.items():
        if not 0 <= share <= 1:
            raise ValueError(f"{org}: the share still paid is between 0 and 1, not {share}")
    base: dict[tuple[str, str], float] = defaultdict(float)
    owed_on_paper: dict[str, float] = defaultdict(float)
    for h in holdings:
        if h.holder != h.obligor:
            base[(h.obligor, h.holder)] += h.amount
            owed_on_paper[h.obligor] += h.amount
    assets: dict[str, float] = {o: float(c) for o, c in cash.items()}
    for obligor, owed in owed_on_paper.items():
        # An obligor's means: in full unless shocked, then the share it still pays (its
        # cash is part of that, not on top).
        assets[obligor] = owed * shocks.get(obligor, 1.0)
    liabilities = dict(base)
    clearing = clear(liabilities, assets)
    rounds = 1
    extra: dict[tuple[str, str], float] = {}
    while recourse and sales and rounds < max_rounds:
        wanted: dict[tuple[str, str], float] = defaultdict(float)
        for s in sales:
            short = s.amount * (1 - min(1.0, clearing.ratio(s.obligor)))
            if short > 0 and s.seller != s.buyer:
                wanted[(s.seller, s.buyer)] += short
        if _close(wanted, extra):
            break
        extra = dict(wanted)
        liabilities = dict(base)
        for pair, amount in extra.items():
            liabilities[pair] = liabilities.get(pair, 0.0) + amount
        clearing = clear(liabilities, assets)
        rounds += 1
    # A holder's loss: the face it held less what it got, on the paper and through
    # recourse, plus what it paid out through recourse. They sum to what the obligors left
    # unpaid: recourse moves a loss from buyer to seller, it makes none.
    loss: dict[str, float] = defaultdict(float)
    for h in holdings:
        if h.holder != h.obligor:
            loss[h.holder] += h.amount
    for (debtor, creditor), amount in liabilities.items():
        loss[creditor] -= amount * clearing.ratio(debtor)
    paid_back: dict[str, float] = defaultdict(float)
    for (seller, _), amount in extra.items():
        paid_back[seller] += amount * clearing.ratio(seller)
        loss[seller] += amount * clearing.ratio(seller)
    return StressResult(
        clearing,
        _fen(loss),
        _fen({o: clearing.owed[o] - clearing.payments[o] for o in clearing.owed}),
        _fen(paid_back),
        rounds,
    )


def _close(a: Mapping[tuple[str, str], float], b: Mapping[tuple[str, str], float]) -> bool:
    keys = set(a) | set(b)
    return all(abs(a.get(k, 0.0) - b.get(k, 0.0)) <= 1e-6 * max(1.0, abs(a.get(k, 0.0)))
               for k in keys)  # fmt: skip


def _fen(amounts: Mapping[str, float]) -> dict[str, int]:
    """Rounded half-even to the minor unit; zeros left out."""
    found = {k: round(v) for k, v in amounts.items()}
    return {k: v for k, v in found.items() if v}


def by_group(amounts: Mapping[str, int], group_of: Mapping[str, str] | None = None,
             groups: Iterable[str] | None = None) -> dict[str, int]:  # fmt: skip
    """Amounts summed by each organization's group (its tier, its role), or kept to the
    organizations in ``groups``."""
    found: dict[str, int] = defaultdict(int)
    for org, amount in amounts.items():
        if group_of is not None:
            found[group_of.get(org, "other")] += amount
        elif groups is None or org in set(groups):
            found[org] += amount
    return dict(found)


def parse_shock(text: str) -> tuple[str, float]:
    """A default as written: ``huaxin-auto`` (pays nothing) or ``huaxin-auto=0.4`` (pays 40%
    of what it owes)."""
    org, _, share = text.partition("=")
    try:
        paid = float(Decimal(share.strip())) if share.strip() else 0.0
    except InvalidOperation:
        paid = math.nan
    if not org.strip() or not 0 <= paid <= 1:
        raise ValidationError(f"Write a default as ORG or ORG=SHARE still paid (0 to 1); "
                              f"got {text!r}.")  # fmt: skip
    return org.strip(), paid
