"""Random transfers among holders never break a certificate's conservation."""

from dataclasses import replace
from datetime import date

from hypothesis import given, settings
from hypothesis import strategies as st

from capillary.domain import errors
from capillary.domain.certificates import (
    Certificate,
    CertificateStatus,
    Fragment,
    FragmentStatus,
    Rules,
    check_conservation,
    children,
    plan_split,
    root,
)

HOLDERS = ["tier1", "tier2", "tier3", "tier4", "bank"]
RULES = Rules(min_fragment=1_000)
CERT = Certificate(1, "C1", "core", "tier1", "CNY", 1_000_000, date(2026, 11, 2),
                   date(2027, 1, 29), CertificateStatus.ACTIVE)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(0, 50),  # which active fragment
            st.sampled_from(HOLDERS),  # to whom
            st.integers(1, 1_000_000),  # how much
        ),
        max_size=40,
    )
)
def test_splits_keep_the_face_and_the_tree(moves: list[tuple[int, str, int]]) -> None:
    fragments: dict[int, Fragment] = {1: root(CERT, 1)}
    next_id = 2
    for pick, recipient, amount in moves:
        active = [f for f in fragments.values() if f.status is FragmentStatus.ACTIVE]
        source = active[pick % len(active)]
        try:
            split = plan_split(CERT, source, sender=source.holder, recipient=recipient,
                               amount=amount, on=date(2026, 12, 1), rules=RULES)  # fmt: skip
        except (errors.TransferToSelf, errors.BelowMinimumFragment, errors.ExceedsFragment):
            continue
        fragments[source.id] = replace(source, status=FragmentStatus.SPENT)
        for made in children(split, first_id=next_id):
            fragments[made.id] = made
            assert made.amount >= RULES.min_fragment
        next_id += 2
        check_conservation(CERT, fragments.values())
        for f in fragments.values():
            parent = fragments.get(f.parent_id) if f.parent_id else None
            if parent is not None:
                assert f.path.startswith(parent.path + "/")
                assert f.tier == parent.tier + (0 if f.holder == parent.holder else 1)
