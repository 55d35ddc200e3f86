"""A stress test on a real certificate graph (issue 14): the small demo economy on SQLite and
PostgreSQL, a core defaulted fully and in part, with and without recourse."""

from __future__ import annotations

from datetime import date

import pytest

from capillary.domain.access import Principal
from capillary.domain.errors import Forbidden, OrganizationNotFound
from capillary.domain.exposure import Thresholds
from capillary.domain.parties import Role
from capillary.simulation.demo import run_demo


def test_a_core_defaults_on_the_demo_economy_and_the_loss_is_traced(store_url: str) -> None:
    done = run_demo(store_url, orgs=60, days=90, seed=11, start=date(2026, 1, 5))
    p = done.platform
    try:
        ops = Principal("capillary-ops", "ops:test", frozenset({Role.OPERATOR}))
        core = "jiangnan-construction"  # the factors buy its paper with recourse
        outstanding = sum(
            f.amount
            for c in p.certificates.certificates(principal=ops, obligor=core, limit=10_000)
            if c.status.value in ("active", "overdue")
            for f in p.certificates.fragments(c.number, principal=ops)
            if f.status.value == "active" and f.holder != core
        )
        assert outstanding > 0
        full = p.risk.stress({core: 0.0}, principal=ops)
        on, off = full.with_recourse, full.without_recourse
        # Nothing is created or lost on the way: the loss is what the core leaves unpaid.
        assert abs(on.total_loss - outstanding) <= len(on.loss) + 1
        assert abs(off.total_loss - outstanding) <= len(off.loss) + 1
        assert on.recourse_paid  # sellers paid back what they sold with recourse
        funders_on = full.by_group(on).get("funder", 0)
        funders_off = full.by_group(off).get("funder", 0)
        assert funders_on < funders_off  # recourse moved loss from the funders to sellers
        assert core in on.clearing.defaulted
        half = p.risk.stress({core: 0.5}, principal=ops).without_recourse
        assert abs(half.total_loss - outstanding / 2) <= len(half.loss) + 1
        supplier = Principal("t1-cons-0001", "t1:test", frozenset({Role.SUPPLIER}))
        with pytest.raises(Forbidden):
            p.risk.stress({core: 0.0}, principal=supplier)
        with pytest.raises(OrganizationNotFound):
            p.risk.stress({"nobody": 0.0}, principal=ops)
    finally:
        p.ledger.db.dispose()


def test_the_exposure_adds_up_and_names_the_concentrations(store_url: str) -> None:
    done = run_demo(store_url, orgs=60, days=90, seed=11, start=date(2026, 1, 5))
    p = done.platform
    try:
        ops = Principal("capillary-ops", "ops:test", frozenset({Role.OPERATOR}))
        found = p.risk.exposure(principal=ops)
        assert found.total > 0
        assert sum(found.by_obligor.values()) == found.total
        assert sum(found.by_industry.values()) == found.total
        assert sum(found.ladder.values()) == found.total
        assert sum(found.by_funder.values()) + sum(found.by_tier.values()) == found.total
        strict = p.risk.exposure(principal=ops, thresholds=Thresholds(0.0, 0.0))
        assert {a.subject for a in strict.alerts if a.kind == "obligor_concentration"} == set(
            found.by_obligor)  # every obligor is some share of the whole  # fmt: skip
        lax = p.risk.exposure(principal=ops, thresholds=Thresholds(1.0, 1.0))
        assert lax.alerts == ()
        with pytest.raises(Forbidden):
            p.risk.exposure(principal=Principal("x", "x", frozenset({Role.FUNDER})))
    finally:
        p.ledger.db.dispose()
