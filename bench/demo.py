"""Demo economy benchmark: the README's first command's main job, timed.

    python bench/demo.py                          # the default economy, 3 runs on each store
    python bench/demo.py --store sqlite --runs 1 --days 30 --orgs 100

Each run is ``capillary demo --no-serve`` in its own process on a fresh store (a SQLite
file in a temporary folder, or a PostgreSQL database created for it), as a new user runs
it: its wall time from start to exit, and where its simulated days went (the steps the
report names). The target (issue 12): the default economy in at most 60 s on SQLite.

This machine's speed varies through the day (the same run has taken 38 s and 65 s hours
apart), so each run is printed beside a yardstick timed just before it: 20 million
additions in a pure Python loop (0.57 s on this machine on 2026-11-27 evening, when the
default run took 38.7-40.4 s). Compare runs by their ratio to the yardstick as much as by
their seconds.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent))

from stores import fresh_store

CAPILLARY = Path(sys.executable).parent / "capillary"


def one_run(store: str, orgs: int, days: int) -> tuple[float, dict[str, float], dict[str, int]]:
    """Wall seconds, seconds by step, and what moved, of one run on a fresh store."""
    with fresh_store(store, "capillary_bench_demo") as url, tempfile.TemporaryDirectory() as out:
        started = time.perf_counter()
        done = subprocess.run(
            [str(CAPILLARY), "--db", url, "demo", "--no-serve", "--orgs", str(orgs),
             "--days", str(days), "--out", out],
            capture_output=True, text=True, env={"COLUMNS": "160", "PATH": "/usr/bin:/bin"},
        )  # fmt: skip
        wall = time.perf_counter() - started
        if done.returncode != 0:
            raise SystemExit(f"the demo failed:\n{done.stdout}\n{done.stderr}")
        report = json.loads((Path(out) / "report.json").read_text())
    volume = report["volume"]
    moved = {"certificates": volume["issued"]["count"],
             "transfers": volume["transferred"]["count"],
             "financings": volume["financed"]["count"]}  # fmt: skip
    return wall, report["economy"]["seconds_by_step"], moved


def yardstick() -> float:
    """Seconds for 20 million additions in a pure Python loop: the machine's speed now."""
    started = time.perf_counter()
    total = 0
    for i in range(20_000_000):
        total += i
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--orgs", type=int, default=1_000)
    parser.add_argument("--days", type=int, default=365)
    args = parser.parse_args()
    console = Console()
    console.print(f"Demo economy benchmark: {args.orgs:,} organizations, {args.days} days, "
                  f"{args.runs} run(s) per store")  # fmt: skip
    stores = ["sqlite", "postgresql"] if args.store == "both" else [args.store]
    table = Table(title="capillary demo --no-serve, wall time")
    for column in ("store", "run", "seconds", "yardstick (s)", "the five slowest steps (s)",
                   "moved"):  # fmt: skip
        table.add_column(column, justify="left" if column.startswith("the") else "right")
    for store in stores:
        for n in range(1, args.runs + 1):
            speed = yardstick()
            wall, steps, moved = one_run(store, args.orgs, args.days)
            slowest = ", ".join(f"{k} {v}" for k, v in list(steps.items())[:5])
            table.add_row(store, str(n), f"{wall:.1f}", f"{speed:.2f}", slowest,
                          " / ".join(f"{v:,} {k}" for k, v in moved.items()))  # fmt: skip
    console.print(table)


if __name__ == "__main__":
    main()
