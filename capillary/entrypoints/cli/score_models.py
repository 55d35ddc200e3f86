"""``capillary score …`` on the platform's own data: fit a scorecard on organizations'
features against what happened next (or the operator's labels), list and activate
versions, score everyone, read a score with its reasons, and turn scores into decisions —
suggested grades, issuance limits and spreads, approved or overridden with a reason."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from capillary.domain.errors import ValidationError
from capillary.domain.inputs import percent_text
from capillary.entrypoints.cli.context import (
    Key,
    new_key,
    parse_amount,
    platform,
    principal,
    strict_day,
)
from capillary.entrypoints.cli.render import console, money, when
from capillary.entrypoints.cli.score import app

Day = Annotated[str | None, typer.Option(help="The day (YYYY-MM-DD).")]


def _labels(path: Path) -> dict[str, int]:
    """``organization,bad`` rows (bad: 1/0, true/false, bad/good)."""
    found: dict[str, int] = {}
    try:
        with path.open(newline="", encoding="utf-8-sig") as f:
            reader = csv.DictReader(f)
            if reader.fieldnames is None or not {"organization", "bad"} <= set(reader.fieldnames):
                raise ValidationError(f"{path.name}: the labels file has the columns "
                                      "organization and bad.")  # fmt: skip
            for n, row in enumerate(reader, start=2):
                value = (row["bad"] or "").strip().lower()
                if value not in ("1", "0", "true", "false", "bad", "good"):
                    raise ValidationError(f"{path.name} row {n}: bad is 1 or 0 (true/false, "
                                          f"bad/good); got {row['bad']!r}.")  # fmt: skip
                found[(row["organization"] or "").strip()] = int(value in ("1", "true", "bad"))
    except OSError as exc:
        raise ValidationError(f"{path}: {exc.strerror or exc}.") from None
    return found


@app.command("train")
def train(
    as_of: Day = None,
    horizon: Annotated[int, typer.Option(help="Days after it in which going bad counts.")] = 90,
    labels: Annotated[
        Path | None,
        typer.Option(
            help="The outcomes instead: a CSV of organization,bad (features as of "
            "today unless --as-of says)."
        ),
    ] = None,
    activate: Annotated[bool, typer.Option(help="Make it the active model.")] = False,
    key: Key = None,
) -> None:
    """As the operator: fit a scorecard on every trading organization's features as of a
    day against whether it went bad in the window after (a certificate overdue, a recourse
    claim), and save it with its model card as the next version."""
    day = strict_day("The day")(as_of) if as_of else None
    m = platform().scoring.train(
        principal=principal(), key=new_key(key), as_of=day, horizon_days=horizon,
        labels=_labels(labels) if labels else None, activate=activate,
    )  # fmt: skip
    _card(m.card, m.version, m.active)


def _card(card: dict[str, Any], version: int, active: bool) -> None:
    data, metrics = card["data"], card["metrics"]
    cv, ins = metrics["cross_validated"], metrics["in_sample"]
    console.print(
        f"Model {version}{' (active)' if active else ''}: features as of {data['as_of']}, "
        f"outcomes over {data['horizon_days']} days labelled by {data['labelled_by']}; "
        f"{data['rows']:,} organizations, {data['bads']:,} bad."
    )
    console.print(
        f"Cross-validated ({cv['folds']} folds): AUC {cv['auc']:.4f}, KS {cv['ks']:.4f}, "
        f"Gini {cv['gini']:.4f}; in sample AUC {ins['auc']:.4f}."
    )
    console.print("Features: " + ", ".join(card["features"]))
    table = Table(title="Calibration by grade")
    for column in ("grade", "organizations", "predicted PD", "observed bad rate"):
        table.add_column(column, justify="left" if column == "grade" else "right")
    for c in card["calibration"]:
        table.add_row(c["grade"], f"{c['rows']:,}", f"{c['predicted_pd']:.2%}",
                      f"{c['observed_rate']:.2%}")  # fmt: skip
    console.print(table)


@app.command("models")
def models() -> None:
    """The scoring models, newest last, with their cross-validated AUC."""
    table = Table(title="Scoring models")
    for column in ("version", "active", "as of", "horizon", "rows", "bads", "AUC (cv)",
                   "trained", "by"):  # fmt: skip
        table.add_column(column)
    for m in platform().scoring.models(principal=principal()):
        cv = m.card["metrics"]["cross_validated"]
        table.add_row(str(m.version), "yes" if m.active else "", str(m.as_of),
                      f"{m.horizon_days} days", f"{m.card['data']['rows']:,}",
                      f"{m.card['data']['bads']:,}", f"{cv['auc']:.4f}", when(m.created_at),
                      escape(m.created_by))  # fmt: skip
    console.print(table)


@app.command("model")
def model(
    version: Annotated[int, typer.Argument(help="The model's version.")],
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Write the card and model here as JSON.")
    ] = None,
) -> None:
    """One model's card; with --json, its card and its bins and coefficients."""
    m = platform().scoring.model(version, principal=principal())
    if json_out is not None:
        json_out.write_text(json.dumps({"card": m.card, "model": m.model}, indent=2))
        console.print(f"Model {version} written to {escape(str(json_out))}.")
        return
    _card(m.card, m.version, m.active)


@app.command("activate")
def activate(version: Annotated[int, typer.Argument(help="The model's version.")],
             key: Key = None) -> None:  # fmt: skip
    """As the operator: make this version the one that scores."""
    platform().scoring.activate(version, principal=principal(), key=new_key(key))
    console.print(f"Model {version} is the active model.")


@app.command("run")
def run(as_of: Day = None, key: Key = None) -> None:
    """As the operator: score every trading organization with the active model."""
    day = strict_day("The day")(as_of) if as_of else None
    done = platform().scoring.run(principal=principal(), key=new_key(key), day=day)
    grades = ", ".join(f"{g} {n:,}" for g, n in sorted(done.by_grade.items()))
    console.print(f"Model {done.version} scored {done.scored:,} organizations as of "
                  f"{done.as_of}: {grades}.")  # fmt: skip


@app.command("show")
def show(org: Annotated[str, typer.Argument(help="The organization.")]) -> None:
    """An organization's latest score: all of it to itself and the operator, the grade to
    a funder with a line to it."""
    s = platform().scoring.score(org, principal=principal())
    line = f"{escape(s.org)}: grade {s.grade} (model {s.model_version}, as of {s.as_of})"
    if s.score is not None and s.pd is not None:
        line += f", score {s.score:.1f}, PD {s.pd:.2%}"
        line += "; reasons: " + (", ".join(s.reasons or ()) or "none")
    console.print(line + ".")


@app.command("suggestions")
def suggestions() -> None:
    """As the operator or an auditor: each scored core's suggested grade and issuance
    limit beside those in force."""
    table = Table(title="Suggested grades and issuance limits (CNY)")
    for column in ("obligor", "score", "PD", "grade", "now", "limit", "now", "used",
                   "reasons"):  # fmt: skip
        table.add_column(column)
    for s in platform().decisions.suggestions(principal=principal()):
        table.add_row(escape(s.obligor), f"{s.score:.1f}", f"{s.pd:.2%}", s.grade,
                      s.current_grade, money(s.limit, 2),
                      "—" if s.current_limit is None else money(s.current_limit, 2),
                      money(s.used, 2), ", ".join(s.reasons))  # fmt: skip
    console.print(table)


@app.command("decide")
def decide(
    obligor: Annotated[str, typer.Argument(help="The core enterprise.")],
    reason: Annotated[str, typer.Option(help="Why (kept in the audit trail).")],
    grade: Annotated[str | None, typer.Option(help="Override the suggested grade.")] = None,
    limit: Annotated[str | None, typer.Option(help="Override the suggested limit (CNY).")] = None,
    key: Key = None,
) -> None:
    """As the operator: set a core's grade and issuance limit as suggested, or as you say."""
    d = platform().decisions.decide(
        obligor, principal=principal(), key=new_key(key), reason=reason, grade=grade,
        limit=None if limit is None else parse_amount(limit, 2),
    )  # fmt: skip
    how = "as suggested" if d.approved else "overriding the suggestion"
    console.print(f"{escape(d.obligor)}: grade {d.grade}, issuance limit "
                  f"{money(d.limit, 2)} CNY, {how}.")  # fmt: skip


@app.command("spreads")
def spreads() -> None:
    """The spread over the base rate each grade is worth under the active model (its
    expected loss for a year and a margin): for funders' standing rules."""
    version, found = platform().decisions.spreads()
    table = Table(title=f"Spreads by grade (model {version})")
    table.add_column("grade")
    table.add_column("spread", justify="right")
    for g, s in found.items():
        table.add_row(g, percent_text(s))
    console.print(table)
