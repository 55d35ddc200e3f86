"""Scoring on the platform's own data (issue 14), on SQLite and PostgreSQL: a demo economy
long enough for some of its organizations to go bad; scorecards fitted against what
happened next, versioned with their cards, one active; everyone scored, each score as its
readers may see it; suggestions turned into decisions with a reason, audited."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest

from capillary.bootstrap import Platform
from capillary.domain.access import Principal
from capillary.domain.errors import (
    Forbidden,
    LimitBelowUsed,
    NoActiveModel,
    ScoreNotFound,
    TooFewOutcomes,
    ValidationError,
)
from capillary.domain.features import NAMES
from capillary.domain.parties import Role
from capillary.domain.scoring import persist
from capillary.domain.scoring.training import as_text
from capillary.simulation.demo import run_demo

OPS = Principal("capillary-ops", "ops:test", frozenset({Role.OPERATOR}))
AUDIT = Principal("capillary-audit", "audit:test", frozenset({Role.AUDITOR}))


def _as(org: str, role: Role) -> Principal:
    return Principal(org, f"{org}:test", frozenset({role}))


@pytest.fixture
def platform(store_url: str) -> Iterator[Platform]:
    done = run_demo(store_url, orgs=150, days=240, seed=11, start=date(2026, 1, 5))
    yield done.platform
    done.platform.ledger.db.dispose()


def test_models_are_fitted_versioned_and_one_is_active(platform: Platform) -> None:
    s = platform.scoring
    with pytest.raises(NoActiveModel):
        s.run(principal=OPS, key="early")
    first = s.train(principal=OPS, key="m1", horizon_days=60)
    data = first.card["data"]
    assert (first.version, first.active) == (1, False)
    assert data["bads"] >= 10
    assert data["rows"] - data["bads"] >= 10
    assert data["labelled_by"].startswith("the platform")
    assert set(first.card["features"]) | set(first.card["dropped"]) == set(NAMES)
    cv = first.card["metrics"]["cross_validated"]
    assert 0.5 < cv["auc"] <= 1
    assert cv["folds"] == 5
    assert sum(c["rows"] for c in first.card["calibration"]) == data["rows"]
    assert s.train(principal=OPS, key="m1", horizon_days=60).version == 1  # a replay
    second = s.train(principal=OPS, key="m2", horizon_days=60, activate=True)
    assert [(m.version, m.active) for m in s.models(principal=AUDIT)] == [(1, False),
                                                                          (2, True)]  # fmt: skip
    s.activate(1, principal=OPS, key="back")
    assert [m.version for m in s.models(principal=OPS) if m.active] == [1]
    assert second.as_of == first.as_of
    with pytest.raises(Forbidden):
        s.train(principal=AUDIT, key="m3")
    with pytest.raises(Forbidden):
        s.models(principal=_as("huaxin-auto", Role.CORE))
    with pytest.raises(ValidationError):  # the outcomes after it are not in yet
        s.train(principal=OPS, key="m4", as_of=s.today(), horizon_days=60)
    with pytest.raises(TooFewOutcomes):  # the operator's labels: nobody bad
        s.train(principal=OPS, key="m5", labels={o: 0 for o in s.features(principal=OPS)})


def test_everyone_is_scored_sees_what_it_may_and_suggestions_become_decisions(
    platform: Platform,
) -> None:
    """One economy for both (a demo long enough for outcomes costs seconds)."""
    _everyone_is_scored_and_sees_what_it_may(platform)
    _suggestions_become_decisions_with_a_reason(platform)


def _everyone_is_scored_and_sees_what_it_may(platform: Platform) -> None:
    s = platform.scoring
    model = s.train(principal=OPS, key="m", horizon_days=60, activate=True)
    done = s.run(principal=OPS, key="run")
    assert s.run(principal=OPS, key="run") == done  # a replay
    features = s.features(principal=OPS)
    orgs = platform.parties.organizations()
    traded = {o.code for o in orgs if {Role.CORE, Role.SUPPLIER} & set(o.roles)}
    assert done.scored == len(traded) == sum(done.by_grade.values())
    card = persist.load(model.model)
    scores = {x.org: x for x in s.scores(principal=OPS)}
    assert set(scores) == traded
    for org in sorted(traded)[:40]:  # the stored score is the card's decision on the features
        decision = card.decide({k: as_text(v) for k, v in features[org].items()})
        got = scores[org]
        assert (got.grade, got.reasons) == (decision.grade, decision.reasons)
        assert got.score == pytest.approx(decision.score, abs=1e-9)
    supplier = next(o for o in sorted(traded) if o.startswith("t2-"))
    own = s.score(supplier, principal=_as(supplier, Role.SUPPLIER))
    assert own.reasons is not None
    assert own.pd is not None
    with pytest.raises(ScoreNotFound):
        s.score("huaxin-auto", principal=_as(supplier, Role.SUPPLIER))
    lines = platform.credit.credit_lines(principal=OPS)
    funder, obligor = lines[0].funder, lines[0].obligor
    seen = s.score(obligor, principal=_as(funder, Role.FUNDER))
    assert seen.grade == scores[obligor].grade
    assert (seen.score, seen.pd, seen.reasons) == (None, None, None)  # the grade only
    with pytest.raises(ScoreNotFound):
        s.score(supplier, principal=_as(funder, Role.FUNDER))
    with pytest.raises(Forbidden):
        s.run(principal=_as(funder, Role.FUNDER), key="x")


def _suggestions_become_decisions_with_a_reason(platform: Platform) -> None:
    d = platform.decisions
    found = {x.obligor: x for x in d.suggestions(principal=AUDIT)}
    cores = {o.code for o in platform.parties.organizations()
             if Role.CORE in o.roles}  # fmt: skip
    assert set(found) == cores
    for x in found.values():
        assert x.limit >= x.used
    core, other = sorted(found)[:2]
    made = d.decide(core, principal=OPS, key="d1", reason="as the model says")
    assert (made.grade, made.limit, made.approved) == (found[core].grade, found[core].limit,
                                                       True)  # fmt: skip
    assert platform.standing.grade(core, principal=OPS) == found[core].grade
    (limit,) = platform.credit.issuance_limits(core, principal=OPS)
    assert limit.limit == found[core].limit
    high = found[other].used + 100_000_000
    over = d.decide(other, principal=OPS, key="d2", reason="board review", grade="AA", limit=high)
    assert (over.grade, over.limit, over.approved) == ("AA", high, False)
    assert platform.standing.grade(other, principal=OPS) == "AA"
    assert [e["action"] for e in platform.trade.audit("credit_decision", core,
                                                     principal=OPS)] == ["approved"]  # fmt: skip
    (overridden,) = platform.trade.audit("credit_decision", other, principal=OPS)
    assert overridden["action"] == "overridden"
    if found[other].used > 0:  # below what is outstanding: refused, nothing changes
        with pytest.raises(LimitBelowUsed):
            d.decide(other, principal=OPS, key="d3", reason="cut", limit=0)
        assert platform.standing.grade(other, principal=OPS) == "AA"
    with pytest.raises(ValidationError):
        d.decide(core, principal=OPS, key="d4", reason="  ")
    with pytest.raises(Forbidden):
        d.decide(core, principal=_as(core, Role.CORE), key="d5", reason="mine")
    with pytest.raises(Forbidden):
        d.suggestions(principal=_as(core, Role.CORE))
    version, spreads = d.spreads()
    assert version == 1
    assert len(spreads) == 7
