"""``capillary score``: the scorecard engine on any labelled table (a CSV file and the name
of its label column): cross-validated against a gradient-boosting challenger and a plain
baseline, or fitted and printed as a card with an example decision and its reason codes."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.progress import Progress
from rich.table import Table

from capillary.adapters.labelled_csv import read_labelled
from capillary.domain.features import NAMES
from capillary.domain.inputs import parse_day
from capillary.domain.scoring.scorecard import fit_scorecard
from capillary.domain.scoring.validation import cross_validate
from capillary.entrypoints.cli.context import platform, principal
from capillary.entrypoints.cli.render import console

app = typer.Typer(help="Credit scoring: a scorecard engine validated on labelled data.",
                  no_args_is_help=True)  # fmt: skip

File = Annotated[Path, typer.Argument(help="A CSV file with a header row.")]
Label = Annotated[str, typer.Option(help="The label column (two values: good and bad).")]
Bad = Annotated[str | None, typer.Option(help="The label value that means bad "
                                               "(default: 'bad', else '1').")]  # fmt: skip


@app.command("validate")
def validate(
    file: File, label: Label, bad: Bad = None,
    folds: Annotated[int, typer.Option(min=2, max=20, help="Stratified folds.")] = 5,
    seed: Annotated[int, typer.Option(help="The folds' (and the challenger's) seed.")] = 7,
) -> None:  # fmt: skip
    """Cross-validate the scorecard, a gradient-boosting challenger and a one-hot logistic
    baseline on the same stratified folds: AUC, KS and Gini of each."""
    rows, labels, features = read_labelled(file, label, bad)
    console.print(f"{escape(file.name)}: {len(rows):,} rows, {sum(labels):,} bad, "
                  f"{len(features)} features; {folds} folds, seed {seed}.")  # fmt: skip
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("cross-validating", total=folds)
        results = cross_validate(rows, labels, features, folds=folds, seed=seed,
                                 progress=lambda _: progress.advance(task))  # fmt: skip
    table = Table(title="Cross-validated, mean over the folds")
    for column in ("model", "AUC", "KS", "Gini", "AUC by fold"):
        table.add_column(column, justify="left" if column == "model" else "right")
    for r in results:
        table.add_row(r.model, f"{r.auc:.4f}", f"{r.ks:.4f}", f"{r.gini:.4f}",
                      " ".join(f"{m.auc:.3f}" for m in r.folds))  # fmt: skip
    console.print(table)


@app.command("card")
def card(file: File, label: Label, bad: Bad = None) -> None:
    """Fit the scorecard on the whole file and print it: each feature's bins and points,
    the features left out, and the first row's decision with its reason codes."""
    rows, labels, features = read_labelled(file, label, bad)
    fitted = fit_scorecard(rows, labels, features)
    table = Table(title=f"Scorecard: {fitted.config.base_points:g} points at "
                        f"{fitted.config.base_odds:g}:1 good to bad, "
                        f"{fitted.config.pdo:g} points to double the odds")  # fmt: skip
    for column in ("feature", "bin", "points"):
        table.add_column(column, justify="right" if column == "points" else "left")
    for feature, label_, points in fitted.table():
        table.add_row(escape(feature), escape(label_), f"{points:.1f}")
    console.print(table)
    if fitted.dropped:
        console.print("Left out (too little information, or risk against the grain): "
                      + ", ".join(escape(f) for f in fitted.dropped))  # fmt: skip
    decision = fitted.decide(rows[0])
    reasons = ", ".join(decision.reasons) or "none"
    console.print(f"Row 1: score {decision.score:.1f}, PD {decision.pd:.2%}, grade "
                  f"{decision.grade}; reasons: {escape(reasons)}.")  # fmt: skip


@app.command("features")
def features_(
    as_of: Annotated[str | None, typer.Option(help="The day (YYYY-MM-DD; default today).")] = None,
    org: Annotated[str | None, typer.Option(help="Only this organization.")] = None,
    csv_out: Annotated[Path | None, typer.Option("--csv", help="Write every organization's "
                                                 "features here as CSV.")] = None,
) -> None:  # fmt: skip
    """Organizations' features from the platform's own records as of a day (nothing after
    it read): yours, or everyone's for the operator and auditors."""
    day = parse_day(as_of, what="The day") if as_of else None
    found = platform().scoring.features(day, principal=principal())
    if org is not None:
        found = {k: v for k, v in found.items() if k == org}
    if csv_out is not None:
        with csv_out.open("w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["organization", *NAMES])
            for code, row in found.items():
                w.writerow([code, *("" if row[n] is None else row[n] for n in NAMES)])
        console.print(f"{len(found):,} organizations' features written to {escape(str(csv_out))}.")
        return
    table = Table(
        title="Features"
        + (f" as of {day}" if day else " as of today")
        + " (amounts in minor units)"
    )
    table.add_column("feature")
    shown = list(found)[:6]
    for code in shown:
        table.add_column(escape(code), justify="right")
    for name in NAMES:
        table.add_row(name, *(_cell(found[c][name]) for c in shown))
    console.print(table)
    if len(found) > len(shown):
        console.print(f"(the first {len(shown)} of {len(found):,}; --csv writes them all)")


def _cell(value: float | None) -> str:
    if value is None:
        return "—"
    if isinstance(value, float) and not value.is_integer():
        return f"{value:.3f}"
    return f"{value:,.0f}"
