"""Scoring (issue 14): organizations' features from the platform's records as of a day;
scorecards fitted on them against what happened next, each saved with its model card and
a version, one active; and every organization scored by the active one, with its reason
codes.

Who sees what: an organization its own features and score with reasons; a funder the grade
of an obligor it has a credit line to; the operator and the auditors everything. Only the
operator fits, activates and runs models."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
from sqlalchemy.engine import Connection

from capillary.adapters import market_repository as market_repo
from capillary.adapters import score_repository as repo
from capillary.adapters.clock import Clock, business_date, start_of
from capillary.adapters.database import Database
from capillary.adapters.feature_queries import counted, went_bad
from capillary.adapters.invoice_repository import insert_audit
from capillary.adapters.score_repository import StoredModel, StoredScore
from capillary.domain.access import Act, Principal, authorize, staff_only
from capillary.domain.errors import (
    Conflict,
    NoActiveModel,
    ScoreModelNotFound,
    ScoreNotFound,
    ValidationError,
)
from capillary.domain.features import NAMES, Counted, columns, table
from capillary.domain.scoring import persist
from capillary.domain.scoring.batch import score_columns
from capillary.domain.scoring.training import fit_card, training_set
from capillary.services.idempotency import once
from capillary.services.outcomes import audit_row

#: The outcome window after the features' day, by default.
HORIZON_DAYS = 90
#: Who is scored: the organizations that trade (a funder or the operator is not).
SCORED_ROLES = ("core", "supplier")


@dataclass(frozen=True, slots=True)
class RunSummary:
    version: int
    as_of: date
    scored: int
    by_grade: dict[str, int]


@dataclass(frozen=True, slots=True)
class Score:
    """An organization's score as a principal may see it: the grade always; the points,
    PD and reasons only to the organization itself and those who see everything."""

    org: str
    as_of: date
    model_version: int
    grade: str
    score: float | None
    pd: float | None
    reasons: tuple[str, ...] | None


def traded(found: Counted) -> Counted:
    """The organizations that trade (are scored), of those counted."""
    keep = np.fromiter((any(r in roles for r in SCORED_ROLES) for roles in found.roles),
                       dtype=bool, count=len(found.roles))  # fmt: skip
    return found.only(keep)


class ScoringService:
    def __init__(self, db: Database, *, clock: Clock, timezone: str) -> None:
        self.db = db
        self.clock = clock
        self.timezone = timezone

    def today(self) -> date:
        return business_date(self.clock, self.timezone)

    def _past(self, day: date | None) -> date:
        today = self.today()
        day = day or today
        if day > today:
            raise ValidationError(f"Features are as of a day that has ended or is today "
                                  f"({today}); {day} is still to come.")  # fmt: skip
        return day

    def _counted(self, conn: Connection, day: date) -> Counted:
        return counted(conn, day, start_of(day, self.timezone))

    # ------------------------------------------------------------------ features

    def features(self, day: date | None = None, *, principal: Principal
                 ) -> dict[str, dict[str, float | None]]:  # fmt: skip
        """Each organization's features as of the end of ``day`` (default: today) — the
        principal's own, or everyone's for those who see everything. Nothing after the day
        is read; a day still to come is refused."""
        day = self._past(day)

        def read(conn: Connection) -> dict[str, dict[str, float | None]]:
            found = self._counted(conn, day)
            if not principal.sees_everything:
                found = found.only([o == principal.org for o in found.orgs])
            return table(found)

        return self.db.transaction(read, readonly=True)

    # ------------------------------------------------------------------ models

    def train(
        self, *, principal: Principal, key: str, as_of: date | None = None,
        horizon_days: int = HORIZON_DAYS, labels: Mapping[str, int] | None = None,
        activate: bool = False,
    ) -> StoredModel:  # fmt: skip
        """Fit a scorecard on every traded organization's features as of ``as_of``
        (default: ``horizon_days`` before today), labelled by whether it went bad in the
        ``horizon_days`` after — or by ``labels`` (organization → 1 bad, 0 good; features
        as of today unless ``as_of`` says), the operator's where the platform has seen too
        few outcomes. Saved as the next version
        with its model card; made the active one with ``activate``."""
        authorize(principal, Act.TRAIN_SCORECARD)
        if not 1 <= horizon_days <= 730:
            raise ValidationError(f"The outcome window is 1 to 730 days; got {horizon_days}.")
        today = self.today()
        as_of = as_of or (today if labels is not None else today - timedelta(days=horizon_days))
        if labels is None and as_of + timedelta(days=horizon_days) > today:
            raise ValidationError(
                f"Outcomes of {horizon_days} days after {as_of} are not all in yet (today is "
                f"{today}): take a day no later than {today - timedelta(days=horizon_days)}."
            )
        self._past(as_of)
        request = {"as_of": as_of.isoformat(), "horizon_days": horizon_days,
                   "labels": sorted((labels or {}).items()), "activate": activate}  # fmt: skip

        def work(conn: Connection) -> StoredModel:
            def run() -> StoredModel:
                found = traded(self._counted(conn, as_of))
                if labels is not None:  # only the labelled need their rows
                    found = found.only([o in labels for o in found.orgs])
                rows_by_org = table(found)
                if labels is None:
                    start = start_of(as_of, self.timezone) + 86_400_000_000
                    end = start_of(as_of + timedelta(days=horizon_days), self.timezone)
                    bad = went_bad(conn, start, end + 86_400_000_000)
                    outcome = {o: int(o in bad) for o in rows_by_org}
                    labelled_by = (f"the platform: overdue certificates and recourse claims "
                                   f"in the {horizon_days} days after")  # fmt: skip
                else:
                    outcome = dict(labels)
                    labelled_by = "the operator's labels"
                _, rows, y = training_set(rows_by_org, outcome)
                now = self.clock.now_us()
                version = repo.next_version(conn)
                created = dt.datetime.fromtimestamp(now / 1e6, dt.UTC).isoformat()
                card, model_card = fit_card(
                    rows, y, NAMES, version=version, as_of=as_of, horizon_days=horizon_days,
                    labelled_by=labelled_by, created=created,
                )  # fmt: skip
                stored = StoredModel(version, as_of, horizon_days, model_card,
                                     persist.dump(card), False, now, principal.label)  # fmt: skip
                repo.insert_model(conn, stored)
                self._audit(conn, "score_model", str(version), "trained", principal,
                            model_card["data"])  # fmt: skip
                if activate:
                    self._activate(conn, version, principal)
                return repo.model(conn, version) or stored

            return once(conn, principal=principal, key=key, use_case=Act.TRAIN_SCORECARD.value,
                        request=request, result=StoredModel, run=run,
                        now=self.clock.now_us())  # fmt: skip

        return self.db.transaction(work)

    def _activate(self, conn: Connection, version: int, principal: Principal) -> None:
        if repo.model(conn, version) is None:
            raise ScoreModelNotFound(f"No scoring model version {version}.")
        repo.activate(conn, version)
        self._audit(conn, "score_model", str(version), "activated", principal)

    def activate(self, version: int, *, principal: Principal, key: str) -> StoredModel:
        """Make ``version`` the one model that scores (the one before it stops)."""
        authorize(principal, Act.TRAIN_SCORECARD)

        def work(conn: Connection) -> StoredModel:
            def run() -> StoredModel:
                self._activate(conn, version, principal)
                found = repo.model(conn, version)
                assert found is not None
                return found

            return once(conn, principal=principal, key=key, use_case="activate_score_model",
                        request={"version": version}, result=StoredModel, run=run,
                        now=self.clock.now_us())  # fmt: skip

        return self.db.transaction(work)

    def models(self, *, principal: Principal) -> list[StoredModel]:
        """Every model with its card: the operator's and the auditors'."""
        self._staff(principal, "the scoring models")
        return self.db.transaction(repo.models, readonly=True)

    def model(self, version: int, *, principal: Principal) -> StoredModel:
        self._staff(principal, "the scoring models")
        found = self.db.transaction(lambda c: repo.model(c, version), readonly=True)
        if found is None:
            raise ScoreModelNotFound(f"No scoring model version {version}.")
        return found

    # ------------------------------------------------------------------ scores

    def run(self, *, principal: Principal, key: str, day: date | None = None) -> RunSummary:
        """Score every traded organization with the active model on its features as of
        ``day`` (default: today), replacing that model's scores of the day."""
        authorize(principal, Act.RUN_SCORING)
        day = self._past(day)

        def read(conn: Connection) -> tuple[int, list[repo.Row], dict[str, int]]:
            active = repo.active_model(conn)
            if active is None:
                raise NoActiveModel("No scoring model is active: train one and activate "
                                    "it first (capillary score train --activate).")  # fmt: skip
            card = persist.load(active.model)
            found = traded(self._counted(conn, day))
            scored = score_columns(card, columns(found), len(found.orgs))
            rows = [(o, float(s), float(p), g, " ".join(r)) for o, s, p, g, r in zip(
                found.orgs, scored.score.tolist(), scored.pd.tolist(), scored.grade,
                scored.reasons, strict=True)]  # fmt: skip
            by_grade: dict[str, int] = {}
            for g in scored.grade:
                by_grade[g] = by_grade.get(g, 0) + 1
            return active.version, rows, by_grade

        # Read and score outside the write: at a million organizations that takes most of
        # half a minute, which no other writer should wait for (SQLite has one at a time).
        version, rows, by_grade = self.db.transaction(read, readonly=True)

        def work(conn: Connection) -> RunSummary:
            def run() -> RunSummary:
                active = repo.active_model(conn)
                if active is None or active.version != version:
                    raise Conflict("Another scoring model became active while this run "
                                   "scored; run it again.")  # fmt: skip
                repo.replace_scores(conn, version, day, rows, self.clock.now_us())
                self._audit(conn, "score_run", f"{version}/{day}", "scored", principal,
                            {"scored": len(rows)})  # fmt: skip
                return RunSummary(version, day, len(rows), by_grade)

            return once(conn, principal=principal, key=key, use_case=Act.RUN_SCORING.value,
                        request={"day": day.isoformat()}, result=RunSummary, run=run,
                        now=self.clock.now_us())  # fmt: skip

        return self.db.transaction(work)

    def score(self, org: str, *, principal: Principal) -> Score:
        """``org``'s latest score by the active model: all of it to itself and to those who
        see everything; its grade to a funder with a credit line to it; to anyone else it
        is not there."""

        def read(conn: Connection) -> Score:
            whole = principal.sees_everything or principal.org == org
            if not whole and org not in market_repo.funders_obligors(conn, principal.org):
                raise ScoreNotFound(f"No score of {org!r} that {principal.org} may see.")
            active = repo.active_model(conn)
            found = None if active is None else repo.score_of(conn, active.version, org)
            if found is None:
                raise ScoreNotFound(f"{org!r} has not been scored by the active model.")
            return _visible(found, whole)

        return self.db.transaction(read, readonly=True)

    def scores(self, *, principal: Principal, grade: str | None = None, after: str = "",
               limit: int | None = None) -> list[Score]:  # fmt: skip
        """Organizations' latest scores by the active model (of one grade), in code order
        after ``after``, at most ``limit``: the operator's and the auditors'."""
        self._staff(principal, "every organization's score")

        def read(conn: Connection) -> list[Score]:
            active = repo.active_model(conn)
            if active is None:
                return []
            found = repo.latest_scores(conn, active.version, grade=grade, after=after,
                                       limit=limit).values()  # fmt: skip
            return [_visible(s, True) for s in found]

        return self.db.transaction(read, readonly=True)

    # ------------------------------------------------------------------ helpers

    def _staff(self, principal: Principal, what: str) -> None:
        staff_only(principal, what)

    def _audit(self, conn: Connection, entity: str, key: str, action: str,
               principal: Principal, detail: object = None) -> None:  # fmt: skip
        insert_audit(conn, [audit_row(entity, key, action, principal.label,
                                      self.clock.now_us(), detail)])  # fmt: skip


def _visible(s: StoredScore, whole: bool) -> Score:
    if whole:
        return Score(s.org, s.as_of, s.model_version, s.grade, s.score, s.pd, s.reasons)
    return Score(s.org, s.as_of, s.model_version, s.grade, None, None, None)
