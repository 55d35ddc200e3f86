"""Trade benchmark: import and match throughput from CSV files.

    python bench/trade.py                   # 100,000 invoices, SQLite and PostgreSQL
    python bench/trade.py --invoices 5000   # smaller
    python bench/trade.py --store sqlite

One core enterprise buys from 100 suppliers. The benchmark writes CSV files for as many
orders (two lines each), accepted deliveries and invoices (two lines each, amounts to the
fen) as ``--invoices`` says, then imports them through the import service the CLI uses:
parsing, validation, storage, audit rows, and -- for invoices -- the three-way match on
arrival. One invoice in fifty bills more than was accepted, so the match finds exceptions
too. Each import is one database transaction.
"""

from __future__ import annotations

import argparse
import csv
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

from rich.console import Console
from rich.table import Table
from stdnum.cn import uscc

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from stores import fresh_store

from capillary.adapters.import_files import read_records
from capillary.bootstrap import Platform, open_platform
from capillary.domain.trade import InvoiceStatus, line_amount, line_tax
from capillary.services.imports import Kind
from tests.support.acting import as_, operator

console = Console()
SUPPLIERS = 100


def _uscc(n: int) -> str:
    base = f"9144030{n:010d}"
    return base + uscc.calc_check_digit(base)


def write_files(folder: Path, invoices: int) -> dict[Kind, Path]:
    def writer(name: str, header: list[str]) -> tuple[Path, csv.DictWriter[str], object]:
        path = folder / name
        f = path.open("w", newline="")
        w = csv.DictWriter(f, header, lineterminator="\n")
        w.writeheader()
        return path, w, f

    files: dict[Kind, Path] = {}
    path, w, f = writer("organizations.csv", ["code", "name", "id_scheme", "id_value", "roles"])
    w.writerow(
        {
            "code": "core",
            "name": "Core Co",
            "id_scheme": "uscc",
            "id_value": _uscc(0),
            "roles": "core",
        }
    )
    for s in range(1, SUPPLIERS + 1):
        w.writerow(
            {
                "code": f"supplier-{s:03d}",
                "name": f"Supplier {s}",
                "id_scheme": "uscc",
                "id_value": _uscc(s),
                "roles": "supplier",
            }
        )
    f.close()  # type: ignore[attr-defined]
    files[Kind.ORGANIZATIONS] = path
    path, w, f = writer("relationships.csv", ["buyer", "supplier"])
    for s in range(1, SUPPLIERS + 1):
        w.writerow({"buyer": "core", "supplier": f"supplier-{s:03d}"})
    f.close()  # type: ignore[attr-defined]
    files[Kind.RELATIONSHIPS] = path

    orders = writer(
        "orders.csv",
        [
            "buyer",
            "supplier",
            "number",
            "currency",
            "order_date",
            "expected_date",
            "line_no",
            "item",
            "description",
            "quantity",
            "uom",
            "unit_price",
            "tax_rate",
        ],
    )
    deliveries = writer(
        "deliveries.csv",
        [
            "supplier",
            "buyer",
            "number",
            "order_number",
            "delivered_on",
            "order_line_no",
            "quantity",
            "accepted",
            "rejected",
        ],
    )
    bills = writer(
        "invoices.csv",
        [
            "seller",
            "buyer",
            "code",
            "number",
            "order_number",
            "currency",
            "issue_date",
            "amount",
            "tax",
            "total",
            "line_no",
            "order_line_no",
            "quantity",
            "unit_price",
            "line_amount",
            "tax_rate",
            "line_tax",
        ],
    )
    for i in range(invoices):
        supplier = f"supplier-{i % SUPPLIERS + 1:03d}"
        number = f"PO-{i:08d}"
        lines = [(1, 100 + i % 50, Decimal("12.50") + i % 7), (2, 40, Decimal("199.99"))]
        for n, qty, price in lines:
            orders[1].writerow(
                {
                    "buyer": "core",
                    "supplier": supplier,
                    "number": number,
                    "currency": "CNY",
                    "order_date": "2026-09-01",
                    "expected_date": "",
                    "line_no": n,
                    "item": f"ITEM-{n}",
                    "description": "",
                    "quantity": qty,
                    "uom": "pcs",
                    "unit_price": price,
                    "tax_rate": "0.13",
                }
            )
            deliveries[1].writerow(
                {
                    "supplier": supplier,
                    "buyer": "core",
                    "number": f"DN-{i:08d}",
                    "order_number": number,
                    "delivered_on": "2026-10-01",
                    "order_line_no": n,
                    "quantity": qty,
                    "accepted": qty,
                    "rejected": 0,
                }
            )
        billed = [(n, qty + (1 if i % 50 == 0 and n == 1 else 0), price) for n, qty, price in lines]
        amounts = [line_amount(Decimal(q), p, 2) for _, q, p in billed]
        taxes = [line_tax(a, Decimal("0.13")) for a in amounts]
        for (n, qty, price), amount, tax in zip(billed, amounts, taxes, strict=True):
            bills[1].writerow(
                {
                    "seller": supplier,
                    "buyer": "core",
                    "code": "",
                    "number": f"{26440000000000000000 + i}",
                    "order_number": number,
                    "currency": "CNY",
                    "issue_date": "2026-10-20",
                    "amount": f"{sum(amounts) / Decimal(100):.2f}",
                    "tax": f"{sum(taxes) / Decimal(100):.2f}",
                    "total": f"{(sum(amounts) + sum(taxes)) / Decimal(100):.2f}",
                    "line_no": n,
                    "order_line_no": n,
                    "quantity": qty,
                    "unit_price": price,
                    "line_amount": f"{amount / Decimal(100):.2f}",
                    "tax_rate": "0.13",
                    "line_tax": f"{tax / Decimal(100):.2f}",
                }
            )
    for kind, (p, _, handle) in (
        (Kind.ORDERS, orders),
        (Kind.DELIVERIES, deliveries),
        (Kind.INVOICES, bills),
    ):
        handle.close()  # type: ignore[attr-defined]
        files[kind] = p
    return files


PARTY = {Kind.ORDERS: "buyer", Kind.DELIVERIES: "supplier", Kind.INVOICES: "seller"}


def _import(platform: Platform, kind: Kind, path: Path) -> int:
    """The file read once; each party imports its own documents (the operator, the
    organizations and relationships). Returns how many were created."""
    records = read_records(path)
    if kind not in PARTY:
        groups = {"ops": records}
    else:
        groups = {}
        for r in records:
            groups.setdefault(str(r[1][PARTY[kind]]), []).append(r)
    created = 0
    for org, rows in groups.items():
        who = operator() if kind not in PARTY else as_(org)
        report = platform.imports.run(kind, rows, principal=who, key=f"bench-{kind}-{org}")
        assert not report.errors, report.errors[:3]
        created += report.created
    return created


def run(store: str, files: dict[Kind, Path], invoices: int) -> dict[str, float]:
    figures: dict[str, float] = {}
    with fresh_store(store, "capillary_bench_trade") as url:
        platform = open_platform(url)
        for kind in Kind:
            start = time.perf_counter()
            with console.status(f"[{store}] importing {kind.value}…"):
                created = _import(platform, kind, files[kind])
            elapsed = time.perf_counter() - start
            if kind in (Kind.ORDERS, Kind.DELIVERIES, Kind.INVOICES):
                figures[f"{kind.value}/s imported"] = created / elapsed
        ops = operator()
        matched = len(
            platform.trade.invoices(principal=ops, status=InvoiceStatus.MATCHED, limit=invoices)
        )
        exceptions = len(
            platform.trade.invoices(principal=ops, status=InvoiceStatus.EXCEPTIONS, limit=invoices)
        )
        figures["invoices matched"] = matched
        figures["invoices with exceptions"] = exceptions
        platform.ledger.db.dispose()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--invoices", type=int, default=100_000)
    parser.add_argument("--store", choices=["sqlite", "postgresql", "both"], default="both")
    args = parser.parse_args()
    stores = ["sqlite", "postgresql"] if args.store == "both" else [args.store]
    with tempfile.TemporaryDirectory(prefix="capillary-trade-files-") as folder:
        with console.status(f"writing CSV files for {args.invoices:,} invoices…"):
            files = write_files(Path(folder), args.invoices)
        results = {store: run(store, files, args.invoices) for store in stores}
    table = Table(
        title=f"Capillary trade benchmark: {args.invoices:,} invoices", title_justify="left"
    )
    table.add_column("figure")
    for store in stores:
        table.add_column(store, justify="right")
    for name in results[stores[0]]:
        table.add_row(name, *(f"{results[s][name]:,.0f}" for s in stores))
    console.print(table)


if __name__ == "__main__":
    main()
