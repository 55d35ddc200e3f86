"""The certificate, credit and cash commands as a person runs them."""

from __future__ import annotations

from pathlib import Path

from tests.e2e.test_cli import run

DATA = Path(__file__).resolve().parents[1] / "data" / "supply_chain"


def test_a_certificate_from_the_command_line(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'certs.db'}"

    def cli(who: str, *args: str, ok: bool = True) -> str:
        done = run("--as", f"{who}:cli", *args, cwd=tmp_path, db=db, ok=ok)
        assert "Traceback" not in done.stdout + done.stderr
        return " ".join((done.stdout + done.stderr).split())

    ops = "ops"
    run("platform", "init", ops, "--name", "Platform Operator", "--id", "91310115MA1K4LQP0J",
        "--sandbox", "--start", "2026-11-02", cwd=tmp_path, db=db)  # fmt: skip
    cli(ops, "org", "import", "organizations", str(DATA / "organizations.csv"))
    cli(ops, "org", "import", "relationships", str(DATA / "relationships.csv"))
    for kind, name, parties in (
        ("orders", "orders.csv", ("huaxin-auto", "precision-parts", "dongguan-castings")),
        (
            "deliveries",
            "deliveries.json",
            ("precision-parts", "dongguan-castings", "foshan-alloys"),
        ),
        ("invoices", "invoices.csv", ("precision-parts", "dongguan-castings", "foshan-alloys")),
    ):
        for party in parties:  # each party imports its own documents
            cli(party, "trade", "import", kind, str(DATA / name))
    cli("huaxin-auto", "trade", "confirm", "precision-parts", "26442000000012345678",
        "--due", "2027-03-31")  # fmt: skip
    cli(ops, "credit", "limit", "huaxin-auto", "--amount", "1,000,000.00")
    cli("merchants-bank", "credit", "grant", "huaxin-auto", "--amount", "500,000",
        "--expires", "2027-12-31")  # fmt: skip
    assert "merchants-bank cash: 300,000.00 CNY" in cli(
        ops, "cash", "deposit", "merchants-bank", "--amount", "300,000", "--key", "wire-1"
    )
    assert "replayed" in cli(
        ops, "cash", "deposit", "merchants-bank", "--amount", "300,000", "--key", "wire-1"
    )
    out = cli("huaxin-auto", "cert", "issue", "precision-parts", "--amount", "200,000.00",
              "--maturity", "2027-01-31", "--payable", "1")  # fmt: skip
    assert "issued 2026-11-02" in out
    number = out.split()[1].rstrip(":")
    refused = run("--as", "dongguan-castings", "cert", "accept", number, cwd=tmp_path, db=db,
                  ok=False)  # fmt: skip
    assert refused.returncode == 1
    assert "error certificate_not_found" in refused.stderr  # no party to it: nothing to see
    assert "active" in cli("precision-parts", "cert", "accept", number)
    assert "today is 2026-11-10" in cli(ops, "clock", "set", "2026-11-10")
    out = cli("precision-parts", "cert", "transfer", "1", "--to", "dongguan-castings",
              "--amount", "50,000", "--reference", "contract:PP-DC-1")  # fmt: skip
    assert "fragment 2: dongguan-castings holds 50,000.00 CNY" in out
    cli(ops, "clock", "set", "2026-12-01")
    out = cli("precision-parts", "cert", "offer", "3", "--to", "merchants-bank",
              "--amount", "100,000", "--rate", "4.5%")  # fmt: skip
    assert "Offer 1" in out
    assert "merchants-bank bought 100,000.00 CNY" in cli("merchants-bank", "cert", "take", "1")
    assert "precision-parts (3, tier 1) → merchants-bank (4, tier 2)" in cli(
        "merchants-bank", "cert", "lineage", "4"
    )
    shown = cli("huaxin-auto", "cert", "show", number)
    assert "merchants-bank" in shown
    assert "dongguan-castings" in shown
    assert "dongguan-castings" not in cli("merchants-bank", "cert", "show", number)
    assert "100,000.00" in cli("merchants-bank", "credit", "list")
    assert "is now a holiday" in cli(ops, "cert", "calendar", "2027-06-14", "--holiday",
                                     "--reason", "Dragon Boat Festival, as published")  # fmt: skip
    cli(ops, "clock", "set", "2027-02-01")
    assert f"cash short: {number}" in cli(ops, "cert", "settle")
    cli(ops, "clock", "advance", "--days", "1")
    assert f"overdue: {number}" in cli(ops, "cert", "settle")
    cli(ops, "cash", "deposit", "huaxin-auto", "--amount", "300,000", "--key", "wire-core")
    assert "settled 1 certificate(s), 3 fragment(s)" in cli(ops, "cert", "settle")
    assert "Journal verified" in cli(ops, "ledger", "verify")
    assert "claim" in cli(ops, "cert", "claims")
