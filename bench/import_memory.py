"""Import memory benchmark: a large orders file through ``capillary trade import``, as a
person runs it, with the process's peak memory.

    python bench/import_memory.py                 # ~50 MB of CSV
    python bench/import_memory.py --mb 5          # smaller

It builds a sandbox platform with one buyer and one supplier, writes an orders CSV of the
size asked (five lines per order), imports it in a child process and prints the file's size,
the records and documents imported, the seconds taken and the child's peak resident memory
(``ru_maxrss``): the import streams the file in chunks, so the peak should not grow with the
file.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

console = Console()
CAPILLARY = shutil.which("capillary", path=str(Path(sys.executable).parent)) or "capillary"
HEADER = "buyer,supplier,number,currency,order_date,line_no,item,quantity,uom,unit_price,tax_rate\n"


def _run(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([CAPILLARY, *args], cwd=cwd, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"capillary {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
    return done


def write_orders(path: Path, megabytes: float) -> tuple[int, int]:
    target = int(megabytes * 1_000_000)
    rows = orders = 0
    with path.open("w", encoding="utf-8") as f:
        f.write(HEADER)
        size = len(HEADER)
        while size < target:
            orders += 1
            for line in range(1, 6):
                row = (f"core-buyer,parts-maker,PO-{orders:08d},CNY,2026-11-02,{line},"
                       f"PART-{line:03d},{10 * line},pcs,{12.5 * line:.2f},0.13\n")  # fmt: skip
                f.write(row)
                size += len(row)
                rows += 1
    return rows, orders


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mb", type=float, default=50.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        where = Path(tmp)
        env = {**os.environ, "CAPILLARY_DATABASE_URL": f"sqlite:///{where / 'big.db'}"}
        _run("platform", "init", "ops", "--name", "Operator", "--id", "91310115MA1K4LQP0J",
             "--sandbox", "--start", "2026-11-02", cwd=where, env=env)  # fmt: skip
        ops = {**env, "CAPILLARY_AS": "ops"}
        _run("org", "create", "core-buyer", "--name", "Core", "--scheme", "test", "--id", "C-1",
             "--roles", "core", cwd=where, env=ops)  # fmt: skip
        _run("org", "create", "parts-maker", "--name", "Parts", "--scheme", "test", "--id",
             "P-1", "--roles", "supplier", cwd=where, env=ops)  # fmt: skip
        _run("org", "relate", "core-buyer", "parts-maker", cwd=where, env=ops)
        file = where / "orders.csv"
        with console.status(f"writing {args.mb:g} MB of orders…"):
            rows, orders = write_orders(file, args.mb)
        with console.status(f"importing {rows:,} records…"):
            start = time.perf_counter()
            done = _run("--as", "core-buyer", "trade", "import", "orders", str(file),
                        cwd=where, env=env)  # fmt: skip
            elapsed = time.perf_counter() - start
        peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        summary = " ".join(done.stdout.split())
        table = Table(title="Capillary import memory benchmark", title_justify="left")
        table.add_column("figure")
        table.add_column("value", justify="right")
        table.add_row("file, MB", f"{file.stat().st_size / 1e6:,.1f}")
        table.add_row("records (order lines)", f"{rows:,}")
        table.add_row("documents (orders)", f"{orders:,}")
        table.add_row("import, s", f"{elapsed:,.1f}")
        table.add_row("records/s", f"{rows / elapsed:,.0f}")
        table.add_row("peak resident memory of the import, MB", f"{peak_kb / 1024:,.0f}")
        console.print(table)
        console.print(summary)


if __name__ == "__main__":
    main()
