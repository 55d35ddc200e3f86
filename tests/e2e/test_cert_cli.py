"""The certificate, credit and cash commands as a person runs them."""

from __future__ import annotations

from pathlib import Path

from tests.e2e.test_cli import run

DATA = Path(__file__).resolve().parents[1] / "data" / "supply_chain"


def test_a_certificate_from_the_command_line(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'certs.db'}"

    def cli(*args: str, ok: bool = True) -> str:
        done = run("--as", "ops:li.wei", *args, cwd=tmp_path, db=db, ok=ok)
        assert "Traceback" not in done.stdout + done.stderr
        return " ".join(done.stdout.split())

    for kind, name in (
        ("organizations", "organizations.csv"),
        ("relationships", "relationships.csv"),
    ):
        cli("org", "import", kind, str(DATA / name))
    for kind, name in (
        ("orders", "orders.csv"),
        ("deliveries", "deliveries.json"),
        ("invoices", "invoices.csv"),
    ):
        cli("trade", "import", kind, str(DATA / name))
    cli("trade", "confirm", "precision-parts", "26442000000012345678", "--due", "2027-03-31")
    cli("credit", "limit", "huaxin-auto", "1,000,000.00")
    cli(
        "credit",
        "grant",
        "merchants-bank",
        "huaxin-auto",
        "--limit",
        "500,000",
        "--expires",
        "2027-12-31",
    )
    assert "merchants-bank cash: 300,000.00 CNY" in cli(
        "cash", "deposit", "merchants-bank", "300,000", "--key", "wire-1"
    )
    out = cli(
        "cert",
        "issue",
        "huaxin-auto",
        "precision-parts",
        "--amount",
        "200,000.00",
        "--maturity",
        "2027-01-31",
        "--payable",
        "1",
        "--on",
        "2026-11-02",
    )
    assert "pending precision-parts's acceptance" in out
    number = out.split()[1].rstrip(":")
    refused = run(
        "cert", "accept", number, "--by", "dongguan-castings", cwd=tmp_path, db=db, ok=False
    )
    assert refused.returncode == 1
    assert "error refused" in refused.stdout
    assert "active" in cli("cert", "accept", number, "--by", "precision-parts")
    out = cli(
        "cert",
        "transfer",
        "1",
        "--from",
        "precision-parts",
        "--to",
        "dongguan-castings",
        "--amount",
        "50,000",
        "--reference",
        "contract:PP-DC-1",
        "--on",
        "2026-11-10",
    )
    assert "fragment 2: dongguan-castings holds 50,000.00 CNY" in out
    out = cli(
        "cert",
        "finance",
        "3",
        "--from",
        "precision-parts",
        "--to",
        "merchants-bank",
        "--amount",
        "100,000",
        "--rate",
        "4.5%",
        "--on",
        "2026-12-01",
    )
    assert "merchants-bank bought 100,000.00 CNY" in out
    assert "precision-parts (3, tier 1) → merchants-bank (4, tier 2)" in cli("cert", "lineage", "4")
    shown = cli("cert", "show", number)
    assert "merchants-bank" in shown
    assert "dongguan-castings" in shown
    assert "100,000.00" in cli("credit", "list")
    assert "is now a holiday" in cli(
        "cert",
        "calendar",
        "2027-06-14",
        "--holiday",
        "--reason",
        "Dragon Boat Festival, as published",
    )
    short = cli("cert", "settle", "--on", "2027-02-01")
    assert f"overdue: {number}" in short
    cli("cash", "deposit", "huaxin-auto", "300,000", "--key", "wire-core")
    assert "Settled 1 certificate(s), 3 fragment(s)" in cli("cert", "settle", "--on", "2027-02-01")
    assert "Journal verified" in cli("ledger", "verify")
    assert "claim" in cli("cert", "claims")
