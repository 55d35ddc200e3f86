"""``capillary score`` as a person runs it on a labelled CSV file (issue 14)."""

from __future__ import annotations

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
