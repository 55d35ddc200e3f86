"""The Eisenberg–Noe clearing vector and the stress test on a certificate network (issue 14):
a cascade worked by hand, and the clearing's promises checked by hypothesis."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from capillary.domain.contagion import Holding, RecourseSale, clear, stress


def test_a_cascade_worked_by_hand() -> None:
    """Core C owes 150: 100 held by funder F, which bought it from supplier S1 with recourse,
    and 50 held by supplier S2. S1 has 30 in cash and holds 20 of core K, which pays. C
    defaults, paying 40% (60 of 150): F gets 40, S2 20. The 60 F is short falls back on S1,
    which has 30 + 20 = 50: it defaults too and pays F 50. Losses: F 100 − 90 = 10, S1 pays
    out all 50 it had, S2 50 − 20 = 30; 90 in all, what C left unpaid. Without recourse F
    bears its 60 alone."""
    holdings = [Holding("C", "F", 100_00), Holding("C", "S2", 50_00), Holding("K", "S1", 20_00)]
    sales = [RecourseSale("C", "S1", "F", 100_00)]
    cash = {"S1": 30_00}
    shocked = stress(holdings, sales, cash, {"C": 0.4})
    assert shocked.loss == {"F": 10_00, "S1": 50_00, "S2": 30_00}
    assert shocked.recourse_paid == {"S1": 50_00}
    assert shocked.shortfall == {"C": 90_00, "S1": 10_00}  # S1 owed 60, paid 50
    assert shocked.clearing.defaulted == {"C", "S1"}
    assert shocked.total_loss == 90_00
    alone = stress(holdings, sales, cash, {"C": 0.4}, recourse=False)
    assert alone.loss == {"F": 60_00, "S2": 30_00}
    assert alone.total_loss == 90_00
    calm = stress(holdings, sales, cash, {})
    assert calm.loss == {}
    assert calm.clearing.defaulted == frozenset()


def test_a_chain_of_sales_with_recourse_passes_the_loss_back_to_the_first_seller() -> None:
    """S sold to F1 with recourse, F1 sold on to F2 with recourse; C pays nothing. F2 claims
    its 80 from F1, F1 from S; S has 100 in cash and pays it all: nobody but S loses."""
    shocked = stress([Holding("C", "F2", 80_00)],
                     [RecourseSale("C", "S", "F1", 80_00), RecourseSale("C", "F1", "F2", 80_00)],
                     {"S": 100_00}, {"C": 0.0})  # fmt: skip
    assert shocked.loss == {"S": 80_00}
    assert shocked.total_loss == 80_00


amounts = st.integers(0, 1_000)
names = st.sampled_from(["a", "b", "c", "d", "e", "f"])


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.tuples(names, names), amounts, max_size=20),
       st.dictionaries(names, amounts, max_size=6))  # fmt: skip
def test_the_clearing_vector_is_a_fixed_point_within_limited_liability(
    liabilities: dict[tuple[str, str], int], assets: dict[str, int]
) -> None:
    owed_pairs = {k: v for k, v in liabilities.items() if k[0] != k[1] and v > 0}
    found = clear(owed_pairs, assets)
    for org, pay in found.payments.items():
        owed = found.owed[org]
        assert -1e-7 <= pay <= owed + 1e-7  # limited liability: nothing beyond what is owed
        inflow = sum(amount / found.owed[d] * found.payments[d]
                     for (d, c), amount in owed_pairs.items() if c == org)  # fmt: skip
        worth = assets.get(org, 0) + inflow
        assert abs(pay - min(owed, worth)) <= 1e-6 * max(1.0, owed)  # the fixed point
        assert (org in found.defaulted) == (pay < owed * (1 - 1e-9))
    if all(assets.get(d, 0) >= sum(v for (x, _), v in owed_pairs.items() if x == d)
           for d, _ in owed_pairs):  # fmt: skip
        assert found.defaulted == frozenset()  # everyone can pay from its own: nobody defaults


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.tuples(st.sampled_from(["C", "K"]), names, st.integers(1, 500)), max_size=12),
    st.lists(st.tuples(st.sampled_from(["C", "K"]), names, names, st.integers(1, 500)),
             max_size=6),
    st.dictionaries(names, amounts, max_size=6),
    st.floats(0, 1),
)  # fmt: skip
def test_losses_sum_to_what_the_obligors_left_unpaid(
    held: list[tuple[str, str, int]], sold: list[tuple[str, str, str, int]],
    cash: dict[str, int], share: float,
) -> None:  # fmt: skip
    holdings = [Holding(o, h, a) for o, h, a in held]
    sales = [RecourseSale(o, s, b, a) for o, s, b, a in sold]
    for recourse in (True, False):
        result = stress(holdings, sales, cash, {"C": share}, recourse=recourse)
        unpaid = sum(a for o, h, a in held if o == "C" and h != "C") * (1 - share)
        assert abs(result.total_loss - unpaid) <= len(held) + len(sold) + 1  # rounding, fen
        calm = stress(holdings, sales, cash, {}, recourse=recourse)
        assert calm.loss == {}  # with no default nobody loses
