"""The org and trade commands, as a person runs them, on the fixture supply chain."""

from __future__ import annotations

from pathlib import Path

from tests.e2e.test_cli import run

DATA = Path(__file__).resolve().parents[1] / "data" / "supply_chain"


def test_a_supply_chain_from_files_to_payables(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'trade.db'}"

    def cli(*args: str, ok: bool = True) -> str:
        done = run("--as", "ops:li.wei", *args, cwd=tmp_path, db=db, ok=ok)
        assert "Traceback" not in done.stdout + done.stderr
        return done.stdout

    out = cli("org", "import", "organizations", str(DATA / "organizations.csv"))
    assert "6 created" in out
    assert "invalid_identifier" in out
    cli("org", "import", "relationships", str(DATA / "relationships.csv"))
    assert "3 created" in cli("trade", "import", "orders", str(DATA / "orders.csv"))
    assert "3 created" in cli("trade", "import", "deliveries", str(DATA / "deliveries.json"))
    out = cli("trade", "import", "invoices", str(DATA / "invoices.csv"))
    assert "4 created" in out
    assert "inconsistent_amounts" in out
    again = cli("trade", "import", "invoices", str(DATA / "invoices.csv"))
    assert "0 created, 4 unchanged" in again

    listing = cli("trade", "list", "invoices")
    assert "207,719.43 CNY" in listing
    assert "matched" in listing
    shown = cli("trade", "show", "invoice", "dongguan-castings", "26442000000087654321")
    assert "quantity_exceeds_accepted" in shown

    refused = run("trade", "confirm", "dongguan-castings", "26442000000087654321", "--due",
                  "2027-01-28", cwd=tmp_path, db=db, ok=False)  # fmt: skip
    assert refused.returncode == 1
    assert "error override_reason_required" in refused.stdout
    cli("trade", "accept", "dongguan-castings", "DC-SHIP-2231")
    assert "1 matched" in cli("trade", "match", "--buyer", "precision-parts")
    out = cli(
        "trade", "confirm", "dongguan-castings", "26442000000087654321", "--due", "2027-01-28"
    )
    assert "precision-parts owes dongguan-castings 28,322.32 CNY" in out
    assert "28,322.32" in cli("trade", "list", "payables")
    org = cli("org", "show", "huaxin-auto")
    assert "huaxin-auto buys from precision-parts (active)" in org
    assert "registered by ops:li.wei" in org
    created = cli("org", "create", "new-supplier", "--name", "New Supplier Ltd", "--id",
                  "91440300X8812345YA", "--roles", "supplier", ok=False)  # fmt: skip
    assert "organization_exists" in created  # that identifier belongs to capillary-ops
    hist = cli("trade", "history", "huaxin-auto", "PO-2026-0001")
    assert "version 1 by ops:li.wei" in hist
