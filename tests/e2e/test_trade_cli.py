"""The org and trade commands, as a person runs them, on the fixture supply chain."""

from __future__ import annotations

from pathlib import Path

from tests.e2e.test_cli import run

DATA = Path(__file__).resolve().parents[1] / "data" / "supply_chain"


def test_a_supply_chain_from_files_to_payables(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'trade.db'}"

    def cli(who: str, *args: str, ok: bool = True) -> str:
        done = run("--as", who, *args, cwd=tmp_path, db=db, ok=ok)
        assert "Traceback" not in done.stdout + done.stderr
        return done.stdout + done.stderr

    run("platform", "init", "ops", "--name", "Platform Operator", "--id", "91310115MA1K4LQP0J",
        cwd=tmp_path, db=db)  # fmt: skip
    nobody = run("org", "list", cwd=tmp_path, db=db)
    assert "huaxin" not in nobody.stdout
    ops = "ops:li.wei"
    out = cli(ops, "org", "import", "organizations", str(DATA / "organizations.csv"))
    assert "6 document(s) created" in out
    assert "invalid_identifier" in out
    cli(ops, "org", "import", "relationships", str(DATA / "relationships.csv"))
    # Each party imports its own documents; the rows of others are refused as forbidden.
    out = cli("huaxin-auto", "trade", "import", "orders", str(DATA / "orders.csv"))
    assert "1 document(s) created" in out  # PO-2026-0001 (two rows); the rest: bad or not its
    assert "forbidden" in out
    cli("precision-parts", "trade", "import", "orders", str(DATA / "orders.csv"))
    cli("dongguan-castings", "trade", "import", "orders", str(DATA / "orders.csv"))
    cli("dongguan-castings", "trade", "import", "deliveries", str(DATA / "deliveries.json"))
    cli("precision-parts", "trade", "import", "deliveries", str(DATA / "deliveries.json"))
    out = cli("dongguan-castings", "trade", "import", "invoices", str(DATA / "invoices.csv"))
    assert "1 document(s) created" in out
    again = cli("dongguan-castings", "trade", "import", "invoices", str(DATA / "invoices.csv"))
    assert "0 document(s) created, 1 unchanged" in again
    cli("precision-parts", "trade", "import", "invoices", str(DATA / "invoices.csv"))

    listing = cli("huaxin-auto", "trade", "list", "invoices")
    assert "207,719.43 CNY" in listing
    assert "dongguan-castings" not in listing  # not huaxin-auto's business
    shown = cli("precision-parts", "trade", "show", "invoice", "dongguan-castings",
                "26442000000087654321")  # fmt: skip
    assert "quantity_exceeds_accepted" in shown
    hidden = cli("huaxin-auto", "trade", "show", "invoice", "dongguan-castings",
                 "26442000000087654321", ok=False)  # fmt: skip
    assert "invoice_not_found" in hidden

    refused = run("--as", "precision-parts", "trade", "confirm", "dongguan-castings",
                  "26442000000087654321", "--due", "2027-01-28", cwd=tmp_path, db=db,
                  ok=False)  # fmt: skip
    assert refused.returncode == 1
    assert "error override_reason_required" in refused.stderr
    cli("precision-parts", "trade", "accept", "dongguan-castings", "DC-SHIP-2231")
    assert "1 matched" in cli("precision-parts", "trade", "match")
    out = cli("precision-parts", "trade", "confirm", "dongguan-castings",
              "26442000000087654321", "--due", "2027-01-28")  # fmt: skip
    assert "precision-parts owes dongguan-castings 28,322.32 CNY" in out
    assert "28,322.32" in cli("dongguan-castings", "trade", "list", "payables")
    org = cli(ops, "org", "show", "huaxin-auto")
    assert "huaxin-auto buys from precision-parts (active)" in org
    assert "registered by ops:li.wei" in org
    created = cli(ops, "org", "create", "new-supplier", "--name", "New Supplier Ltd", "--id",
                  "91440300X8812345YA", "--roles", "supplier", ok=False)  # fmt: skip
    assert "organization_exists" in created  # that identifier belongs to capillary-ops
    forbidden = cli("huaxin-auto", "org", "create", "new-supplier", "--name", "New Ltd",
                    "--id", "91310115MA1K4LQP0J", "--roles", "supplier", ok=False)  # fmt: skip
    assert "error forbidden" in forbidden
    hist = cli("huaxin-auto", "trade", "history", "huaxin-auto", "PO-2026-0001")
    assert "version 1 by huaxin-auto" in hist


def test_an_import_refusing_everything_exits_1_and_lists_every_refusal(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'imports.db'}"
    run("platform", "init", "ops", "--name", "Platform Operator", "--id", "91310115MA1K4LQP0J",
        cwd=tmp_path, db=db)  # fmt: skip
    bad = tmp_path / "orgs.csv"
    bad.write_text("code,name,id_scheme,id_value,roles\n" + "".join(
        f"org-{n},Org {n},uscc,91310115MA1K4LQP0X,supplier\n" for n in range(30)
    ))  # fmt: skip
    done = run("--as", "ops", "org", "import", "organizations", str(bad), cwd=tmp_path, db=db,
               ok=False)  # fmt: skip
    assert done.returncode == 1
    assert done.stderr.strip().startswith("error import_refused: Every one of the 30 record(s)")
    assert "and 10 more refused record(s)" in done.stdout
    refused = (tmp_path / "orgs.csv.refused.csv").read_text().splitlines()
    assert refused[0] == "record,field,code,reason"
    assert len(refused) == 31
    # A file saved as GBK, as Excel does on Chinese Windows, is read as it was meant.
    gbk = tmp_path / "orgs-gbk.csv"
    gbk.write_bytes(
        "code,name,id_scheme,id_value,roles\n"
        "huaxin-auto,华鑫汽车有限公司,uscc,91440300MA5F8Q2K1L,core\n".encode("gbk")
    )
    out = run("--as", "ops", "org", "import", "organizations", str(gbk), cwd=tmp_path, db=db)
    assert "1 document(s) created" in out.stdout
    assert "华鑫汽车有限公司" in run("org", "list", cwd=tmp_path, db=db).stdout
