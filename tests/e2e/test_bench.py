"""The benchmarks still run (at a tiny size: their figures are measured by hand, not here)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"


@pytest.mark.parametrize(
    "args",
    [
        ["ledger.py", "--quick", "--store", "sqlite"],
        ["trade.py", "--invoices", "200", "--store", "sqlite"],
        ["import_memory.py", "--mb", "0.3"],
        ["api.py", "--store", "sqlite", "--quick"],
        ["transfer_loop.py", "--store", "sqlite", "--n", "20"],
        ["events.py", "--store", "sqlite", "--quick", "--no-nats"],
        ["market.py", "--store", "sqlite", "--quick"],
        ["demo.py", "--store", "sqlite", "--runs", "1", "--orgs", "40", "--days", "10"],
        ["console.py", "--orgs", "40", "--days", "10", "--requests", "2"],
        ["risk.py", "--store", "sqlite", "--orgs", "3000", "--fragments", "3000"],
        [
            "certificates.py",
            "--store",
            "sqlite",
            "--ops",
            "20",
            "--certificates",
            "20",
            "--split",
            "10",
        ],
    ],
)
def test_a_benchmark_runs_and_prints_its_figures(args: list[str]) -> None:
    done = subprocess.run(
        [sys.executable, str(BENCH / args[0]), *args[1:]],
        capture_output=True,
        text=True,
        timeout=300,
        env={"COLUMNS": "160", "PATH": "/usr/bin:/bin"},
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "benchmark" in done.stdout


def test_the_scale_benchmark_replays_a_sliver_of_the_peak_day(pg_server: str) -> None:
    """``bench/scale.py`` on the real PostgreSQL, at a two-thousandth of the peak day."""
    done = subprocess.run(
        [sys.executable, str(BENCH / "scale.py"), "--share", "0.002", "--workers", "2"],
        capture_output=True, text=True, timeout=300,
        env={"COLUMNS": "160", "PATH": "/usr/bin:/bin", "CAPILLARY_BENCH_POSTGRES": pg_server},
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "benchmark" in done.stdout
    assert "headroom" in done.stdout
