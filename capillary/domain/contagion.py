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
from typing import Any

from capillary.domain.errors import ValidationError

TOLERANCE = 1e-9  # relative: a payment within this of what is owed is paid in full


@dataclass(frozen=True, slots=True)
class Clearing:
    names: list[str]  # the organizations, in the arrays' order
    paid: Any  # what each debtor pays in all (an array)
    due: Any  # what each owes in all, L̄ (an array)
    defaulted: frozenset[str]  # pays less than it owes
    rounds: int

    @property
    def payments(self) -> dict[str, float]:
        return dict(zip(self.names, self.paid.tolist(), strict=True))

    @property
    def owed(self) -> dict[str, float]:
        return dict(zip(self.names, self.due.tolist(), strict=True))


def _clear(n: int, debtor: Any, creditor: Any, amount: Any, external: Any
           ) -> tuple[Any, Any, Any, int]:  # fmt: skip
    """The clearing vector on organizations 0…n-1: payments, what each owes, who
    defaulted, rounds. Liabilities as arrays (debtor, creditor, amount; repeats add up)."""
    import numpy as np
    from scipy.sparse import csr_matrix, identity
    from scipy.sparse.linalg import spsolve

    keep = (amount > 0) & (debtor != creditor)
    owed_matrix = csr_matrix((amount[keep], (debtor[keep], creditor[keep])), shape=(n, n))
    owed = np.asarray(owed_matrix.sum(axis=1)).ravel()
    safe = np.where(owed > 0, owed, 1.0)
    share = csr_matrix(owed_matrix.multiply(1.0 / safe[:, None]))  # Π: rows sum to 1
    inflow = share.T.tocsr()  # (Πᵀ p)_i = Σ_j Π_ji p_j
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
    return pay, owed, defaulted, rounds


def clear(liabilities: Mapping[tuple[str, str], float], assets: Mapping[str, float]) -> Clearing:
    """The clearing vector of ``liabilities`` ((debtor, creditor) → nominal) given each
    organization's external ``assets`` (absent: none)."""
    import numpy as np

    names = sorted({o for pair in liabilities for o in pair} | set(assets))
    index = {name: i for i, name in enumerate(names)}
    pairs = list(liabilities.items())
    debtor = np.array([index[d] for (d, _), _ in pairs], dtype=np.int64)
    creditor = np.array([index[c] for (_, c), _ in pairs], dtype=np.int64)
    amount = np.array([float(v) for _, v in pairs], dtype=float)
    external = np.array([float(assets.get(name, 0.0)) for name in names])
    pay, owed, defaulted, rounds = _clear(len(names), debtor, creditor, amount, external)
    return Clearing(names, pay, owed, frozenset(names[i] for i in np.flatnonzero(defaulted)),
                    rounds)  # fmt: skip


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
class Graph:
    """The certificate network in columns: holdings (obligor, holder, amount) and sales with
    recourse (obligor, seller, buyer, amount), as the store reads them in bulk."""

    obligor: Sequence[str]
    holder: Sequence[str]
    amount: Sequence[int]
    sold_obligor: Sequence[str] = ()
    seller: Sequence[str] = ()
    buyer: Sequence[str] = ()
    sold: Sequence[int] = ()

    @classmethod
    def of(cls, holdings: Sequence[Holding], sales: Sequence[RecourseSale]) -> Graph:
        return cls([h.obligor for h in holdings], [h.holder for h in holdings],
                   [h.amount for h in holdings], [s.obligor for s in sales],
                   [s.seller for s in sales], [s.buyer for s in sales],
                   [s.amount for s in sales])  # fmt: skip


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
    holdings: Sequence[Holding] | Graph, sales: Sequence[RecourseSale],
    cash: Mapping[str, int], shocks: Mapping[str, float], *, recourse: bool = True,
    max_rounds: int = 100,
) -> StressResult:  # fmt: skip
    """The obligors in ``shocks`` pay only the given share (0: nothing) of what they owe on
    certificates; every other obligor pays in full. Sellers owe their buyers the shortfall
    on what they sold with recourse (when ``recourse``), out of their ``cash`` and what they
    are paid in turn. ``holdings`` may be a :class:`Graph` (then ``sales`` is not used)."""
    import numpy as np

    for org, share in shocks.items():
        if not 0 <= share <= 1:
            raise ValueError(f"{org}: the share still paid is between 0 and 1, not {share}")
    g = holdings if isinstance(holdings, Graph) else Graph.of(holdings, sales)
    index: dict[str, int] = {}

    def ids(codes: Iterable[str], count: int) -> Any:
        return np.fromiter((index.setdefault(c, len(index)) for c in codes), dtype=np.int64,
                           count=count)  # fmt: skip

    ob, ho = ids(g.obligor, len(g.obligor)), ids(g.holder, len(g.holder))
    amount = np.asarray(g.amount, dtype=float)
    s_ob, s_seller = ids(g.sold_obligor, len(g.sold_obligor)), ids(g.seller, len(g.seller))
    s_buyer, sold = ids(g.buyer, len(g.buyer)), np.asarray(g.sold, dtype=float)
    cash_at = ids(cash, len(cash))
    shocked_at = ids(shocks, len(shocks))
    n = len(index)
    names = [""] * n
    for code, i in index.items():
        names[i] = code
    held = ho != ob  # paid early: the obligor holds its own paper, owing nobody
    ob, ho, amount = ob[held], ho[held], amount[held]
    on_paper = np.bincount(ob, weights=amount, minlength=n).astype(float)
    external = np.zeros(n)
    external[cash_at] = np.asarray(list(cash.values()), dtype=float)
    still = np.ones(n)
    still[shocked_at] = np.asarray(list(shocks.values()), dtype=float)
    # An obligor's means: in full unless shocked, then the share it still pays (its cash is
    # part of that, not on top).
    obligors = on_paper > 0
    external[obligors] = on_paper[obligors] * still[obligors]
    pay, owed, defaulted, _ = _clear(n, ob, ho, amount, external)
    rounds = 1
    extra = np.zeros(len(sold))
    owing = (s_seller != s_buyer) & recourse
    while recourse and len(sold) and rounds < max_rounds:
        ratio = np.where(owed > 0, pay / np.where(owed > 0, owed, 1.0), 1.0)
        wanted = np.where(owing, sold * (1 - np.minimum(1.0, ratio[s_ob])), 0.0)
        if np.all(np.abs(wanted - extra) <= 1e-6 * np.maximum(1.0, np.abs(wanted))):
            break
        extra = wanted
        pay, owed, defaulted, _ = _clear(
            n, np.concatenate([ob, s_seller]), np.concatenate([ho, s_buyer]),
            np.concatenate([amount, extra]), external,
        )  # fmt: skip
        rounds += 1
    # A holder's loss: the face it held less what it got, on the paper and through
    # recourse, plus what it paid out through recourse. They sum to what the obligors left
    # unpaid: recourse moves a loss from buyer to seller, it makes none.
    ratio = np.where(owed > 0, pay / np.where(owed > 0, owed, 1.0), 1.0)

    def total(at: Any, weights: Any) -> Any:  # by organization, as floats even when empty
        return np.bincount(at, weights=weights, minlength=n).astype(float)

    loss = total(ho, amount) - total(ho, amount * ratio[ob])
    paid_back = total(s_seller, extra * ratio[s_seller])
    loss -= total(s_buyer, extra * ratio[s_seller])
    loss += paid_back
    clearing = Clearing(names, pay, owed, frozenset(names[i] for i in np.flatnonzero(defaulted)),
                        rounds)  # fmt: skip
    return StressResult(clearing, _fen(names, loss), _fen(names, owed - pay),
                        _fen(names, paid_back), rounds)  # fmt: skip


def _fen(names: list[str], amounts: Any) -> dict[str, int]:
    """Rounded half-even to the minor unit; zeros left out."""
    import numpy as np

    rounded = np.rint(amounts)
    return {names[i]: int(rounded[i]) for i in np.flatnonzero(rounded)}


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
