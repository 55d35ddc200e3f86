"""``capillary score`` as a person runs it on a labelled CSV file (issue 14)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.e2e.test_cli import run
from tests.unit.test_scorecard import GERMAN


def test_the_scorecard_is_validated_and_printed_from_a_csv_file(tmp_path: Path) -> None:
    out = run("score", "validate", str(GERMAN), "--label", "creditability", cwd=tmp_path).stdout
    assert "1,000 rows, 300 bad, 20 features; 5 folds, seed 7." in out
    for model in ("scorecard", "challenger", "baseline"):
        assert model in out
    card = run("score", "card", str(GERMAN), "--label", "creditability", cwd=tmp_path).stdout
    assert "status_of_existing_checking_account" in card
    assert "Row 1: score" in card
    assert "reasons:" in card


def test_a_file_that_cannot_be_scored_is_refused_in_one_line(tmp_path: Path) -> None:
    wrong = run("score", "validate", str(GERMAN), "--label", "nope", cwd=tmp_path, ok=False)
    assert wrong.returncode == 1
    assert wrong.stderr.startswith("error invalid_file: germancredit.csv has no column 'nope'")
    one_value = tmp_path / "one.csv"
    one_value.write_text("a,y\n" + "".join(f"{i},good\n" for i in range(60)))
    refused = run("score", "validate", str(one_value), "--label", "y", cwd=tmp_path, ok=False)
    assert "must take two values" in refused.stderr
    assert "Traceback" not in refused.stderr


def test_a_stress_test_is_run_from_the_command_line_on_the_demo(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'demo.db'}"
    run("--db", db, "demo", "--no-serve", "--orgs", "60", "--days", "90", "--seed", "11",
        "--out", str(tmp_path / "out"), cwd=tmp_path)  # fmt: skip
    out = run("--db", db, "--as", "capillary-ops", "risk", "stress", "--default",
              "jiangnan-construction=0.25", "--json", str(tmp_path / "stress.json"),
              "--chart", str(tmp_path / "stress.svg"), cwd=tmp_path).stdout  # fmt: skip
    assert (tmp_path / "stress.svg").read_text().startswith("<svg")
    assert "Defaulted: jiangnan-construction pays 25%." in " ".join(out.split())
    assert "Loss by group" in out
    written = json.loads((tmp_path / "stress.json").read_text())
    assert written["with_recourse"]["total"] == sum(written["with_recourse"]["loss"].values())
    assert written["shocks"] == {"jiangnan-construction": 0.25}
    run("--db", db, "--as", "capillary-ops", "score", "features", "--csv",
        str(tmp_path / "features.csv"), cwd=tmp_path)  # fmt: skip
    header = (tmp_path / "features.csv").read_text().splitlines()[0]
    assert header.startswith("organization,tenure_days,sales_90d,")
    refused = run("--db", db, "--as", "huaxin-auto", "risk", "stress", "--default",
                  "jiangnan-construction", cwd=tmp_path, ok=False)  # fmt: skip
    assert refused.stderr.startswith("error forbidden:")
    bad = run("--db", db, "--as", "capillary-ops", "risk", "stress", "--default",
              "jiangnan-construction=lots", cwd=tmp_path, ok=False)  # fmt: skip
    assert bad.stderr.startswith("error validation_error:")
    # Too short a history to have seen anyone go bad: refused, in one line.
    early = run("--db", db, "--as", "capillary-ops", "score", "train", "--horizon", "30",
                cwd=tmp_path, ok=False)  # fmt: skip
    assert early.stderr.startswith("error too_few_outcomes:")
    # The operator's labels instead: the smaller half of sellers by a year's sales, bad.
    rows = [line.split(",") for line in header_and_rows(tmp_path / "features.csv")]
    sales = {r[0]: float(r[5] or 0) for r in rows}
    cut = sorted(sales.values())[len(sales) // 2]
    labels = tmp_path / "labels.csv"
    labels.write_text("organization,bad\n" + "".join(f"{o},{int(v < cut)}\n"
                                                     for o, v in sales.items()))  # fmt: skip
    trained = run("--db", db, "--as", "capillary-ops", "score", "train", "--labels", str(labels),
                  "--activate", cwd=tmp_path).stdout  # fmt: skip
    assert "Model 1 (active)" in trained
    assert "labelled by the operator's labels" in " ".join(trained.split())
    scored = run("--db", db, "--as", "capillary-ops", "score", "run", cwd=tmp_path).stdout
    assert "Model 1 scored" in scored
    supplier = next(o for o in sales if o.startswith("t1-"))
    own = run("--db", db, "--as", supplier, "score", "show", supplier, cwd=tmp_path).stdout
    assert "reasons:" in own
    hidden = run("--db", db, "--as", supplier, "score", "show", "huaxin-auto", cwd=tmp_path,
                 ok=False)  # fmt: skip
    assert hidden.stderr.startswith("error score_not_found:")
    suggested = run("--db", db, "--as", "capillary-audit", "score", "suggestions",
                    cwd=tmp_path).stdout  # fmt: skip
    assert "huaxin-auto" in suggested
    decided = run("--db", db, "--as", "capillary-ops", "score", "decide", "huaxin-auto",
                  "--reason", "board review", "--grade", "A", "--limit", "900,000,000",
                  cwd=tmp_path).stdout  # fmt: skip
    assert "grade A, issuance limit 900,000,000.00 CNY, overriding the suggestion" in " ".join(
        decided.split())  # fmt: skip
    assert "AAA" in run("--db", db, "score", "spreads", cwd=tmp_path).stdout
    raised = run("--db", db, "--as", "capillary-ops", "risk", "monitor", cwd=tmp_path).stdout
    assert "raised as events" in raised
    wrong = tmp_path / "wrong.csv"
    wrong.write_text("organization,bad\nhuaxin-auto,maybe\n")
    refused_labels = run("--db", db, "--as", "capillary-ops", "score", "train", "--labels",
                         str(wrong), cwd=tmp_path, ok=False)  # fmt: skip
    assert refused_labels.stderr.startswith("error validation_error: wrong.csv row 2:")


def header_and_rows(path: Path) -> list[str]:
    return path.read_text().splitlines()[1:]
