"""The marketplace from the command line: a supplier asks, a funder quotes, the supplier
takes the best the market offers."""

from __future__ import annotations

import json
from pathlib import Path

from tests.e2e.test_cli import run

DATA = Path(__file__).resolve().parents[1] / "data" / "supply_chain"


def test_a_request_quoted_and_filled_from_the_command_line(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'market.db'}"

    def cli(who: str, *args: str, ok: bool = True) -> str:
        done = run("--as", f"{who}:cli", *args, cwd=tmp_path, db=db, ok=ok)
        assert "Traceback" not in done.stdout + done.stderr
        return " ".join((done.stdout + done.stderr).split())

    ops, pp, bank = "ops", "precision-parts", "merchants-bank"
    run("platform", "init", ops, "--name", "Platform Operator", "--id", "91310115MA1K4LQP0J",
        "--sandbox", "--start", "2026-11-02", cwd=tmp_path, db=db)  # fmt: skip
    cli(ops, "org", "import", "organizations", str(DATA / "organizations.csv"))
    cli(ops, "org", "import", "relationships", str(DATA / "relationships.csv"))
    cli("huaxin-auto", "trade", "import", "orders", str(DATA / "orders.csv"))
    cli(pp, "trade", "import", "deliveries", str(DATA / "deliveries.json"))
    cli(pp, "trade", "import", "invoices", str(DATA / "invoices.csv"))
    cli("huaxin-auto", "trade", "confirm", pp, "26442000000012345678", "--due", "2027-03-31")
    cli(ops, "org", "create", "suzhou-factoring", "--name", "Suzhou Factoring",
        "--id", "91320500MA1MXY3U2M", "--roles", "funder")  # fmt: skip
    cli(ops, "credit", "limit", "huaxin-auto", "--amount", "1,000,000.00")
    cli(bank, "credit", "grant", "huaxin-auto", "--amount", "500,000", "--expires", "2027-12-31")
    cli(ops, "cash", "deposit", bank, "--amount", "300,000")
    out = cli("huaxin-auto", "cert", "issue", pp, "--amount", "200,000.00",
              "--maturity", "2027-01-31", "--payable", "1")  # fmt: skip
    number = out.split()[1].rstrip(":")
    cli(pp, "cert", "accept", number)
    cli(ops, "clock", "set", "2026-12-01")

    out = cli(pp, "market", "request", "1", "--amount", "120,000", "--max-rate", "6%",
              "--expires", "2026-12-20")  # fmt: skip
    assert "Request 1: precision-parts asks for 120,000.00 CNY of fragment 1" in out
    assert "error" in cli(pp, "market", "request", "1", "--amount", "1", "--flat", "x%",
                          "--expires", "2026-12-20", ok=False)  # fmt: skip
    # A funder with a line to the obligor sees it; one without does not.
    assert "precision-parts" in cli(bank, "market", "requests")
    assert "precision-parts" not in cli("suzhou-factoring", "market", "requests")
    assert "error offer_not_found" in cli("suzhou-factoring", "market", "quotes", "1", ok=False)
    assert "Quote 1: merchants-bank offers 100,000.00 CNY at 5%" in cli(
        bank, "market", "quote", "1", "--amount", "100,000", "--rate", "5%",
        "--until", "2026-12-10",
    )  # fmt: skip
    assert "merchants-bank" in cli(pp, "market", "quotes", "1")
    out = cli(pp, "market", "fill", "1")
    assert "Filled 100,000.00 CNY by merchants-bank at 5% a year" in out
    assert "Request 1: 100,000.00 CNY of 120,000.00 CNY filled; open." in out
    assert "Request 1 is cancelled." in cli(pp, "market", "cancel", "1")
    shown = cli("dongguan-castings", "market", "view", "--by", "tier")
    assert "tier 1" in shown
    assert "20,000.00" in shown  # the unmet demand: asked 120,000, filled 100,000
    figures = json.loads(run("--as", "dongguan-castings", "market", "view", "--json",
                             cwd=tmp_path, db=db).stdout)  # fmt: skip
    assert figures[0]["filled"] == 100_000_00
    assert figures[0]["average_rate"] == "0.050000"
    assert "merchants-bank" in cli("huaxin-auto", "cert", "show", number)
    # Early payment: the core offers cash; the supplier bids on what it kept; the core clears.
    cli(ops, "cash", "deposit", "huaxin-auto", "--amount", "100,000")
    out = cli("huaxin-auto", "market", "early", "offer", "--cash", "60,000", "--hurdle", "4%",
              "--until", "2026-12-31")  # fmt: skip
    assert "Early-payment offer 1: huaxin-auto pays up to 60,000.00 CNY" in out
    out = cli(pp, "market", "early", "bid", "1", "--fragment", "3", "--amount", "50,000",
              "--apr", "6%")  # fmt: skip
    assert "Bid 1: 50,000.00 CNY of fragment 3 at 6%; clears now: 50,000.00 CNY" in out
    out = cli("huaxin-auto", "market", "early", "clear", "1")
    assert "Paid precision-parts" in out
    assert "cleared at 6%" in out
    assert "filled" in cli(pp, "market", "early", "bids", "1")


def test_standing_rules_and_a_standing_request_from_the_command_line(tmp_path: Path) -> None:
    """The operator publishes the LPR and grades the core; a funder sets a standing rule;
    the supplier sets a standing request; the certificate it then receives is offered and
    filled by the sweep, and its book replays."""
    db = f"sqlite:///{tmp_path / 'standing.db'}"

    def cli(who: str, *args: str, ok: bool = True) -> str:
        done = run("--as", f"{who}:cli", *args, cwd=tmp_path, db=db, ok=ok)
        assert "Traceback" not in done.stdout + done.stderr
        return " ".join((done.stdout + done.stderr).split())

    ops, pp, bank, core = "ops", "precision-parts", "merchants-bank", "huaxin-auto"
    run("platform", "init", ops, "--name", "Platform Operator", "--id", "91310115MA1K4LQP0J",
        "--sandbox", "--start", "2026-11-02", cwd=tmp_path, db=db)  # fmt: skip
    cli(ops, "org", "import", "organizations", str(DATA / "organizations.csv"))
    cli(ops, "org", "import", "relationships", str(DATA / "relationships.csv"))
    cli(core, "trade", "import", "orders", str(DATA / "orders.csv"))
    cli(pp, "trade", "import", "deliveries", str(DATA / "deliveries.json"))
    cli(pp, "trade", "import", "invoices", str(DATA / "invoices.csv"))
    cli(core, "trade", "confirm", pp, "26442000000012345678", "--due", "2027-03-31")
    cli(ops, "credit", "limit", core, "--amount", "1,000,000.00")
    cli(bank, "credit", "grant", core, "--amount", "500,000", "--expires", "2027-12-31")
    cli(ops, "cash", "deposit", bank, "--amount", "300,000")

    assert "1Y LPR (CNY) is 3.1%" in cli(ops, "market", "base-rate", "--publish", "3.1%")
    assert "error forbidden" in cli(bank, "market", "base-rate", "--publish", "1%", ok=False)
    assert "huaxin-auto: AA." in cli(ops, "market", "grade", core, "--set", "AA",
                                     "--reason", "Audited 2025 accounts")  # fmt: skip
    assert "huaxin-auto: AA." in cli(bank, "market", "grade", core)
    assert "error" in cli(bank, "market", "rule", "add", "--spread", "AA:2-weeks=1%", ok=False)
    out = cli(bank, "market", "rule", "add", "--spread", "AA:31-90=1.2%",
              "--spread", "AA:91-180=1.5%", "--cap-tier", "150,000")  # fmt: skip
    assert "Standing rule 1: merchants-bank quotes 2 grade and tenor pairs" in out
    assert "AA 91-180 +1.5%" in cli(bank, "market", "rule", "list")
    out = cli(pp, "market", "standing", "add", core, "--max-rate", "5%", "--days", "3")
    assert "Standing request 1: every certificate of huaxin-auto precision-parts receives" in out
    # The core pays pp with a certificate after that: the sweep offers it and fills it from
    # bank's rule at LPR + 1.5% (about 120 days), to the rule's tier cap.
    out = cli(core, "cert", "issue", pp, "--amount", "200,000.00", "--maturity", "2027-03-31",
              "--payable", "1")  # fmt: skip
    cli(pp, "cert", "accept", out.split()[1].rstrip(":"))
    cli(ops, "clock", "set", "2026-12-01")
    assert "Posted 1 requests; 1 fills; 0 standing requests refused" in cli(
        ops, "market", "standing", "run"
    )
    shown = cli(pp, "market", "requests")
    assert "150,000.00 CNY" in shown
    assert "open" in shown
    assert "4.6%" in cli(pp, "market", "quotes", "1")
    assert "reproduced" in cli(pp, "market", "replay", "1")
    out = cli(pp, "market", "amend", "1", "--max-rate", "4%")
    assert "Request 1: 50,000.00 CNY open at 4% or better" in out
    assert "cancelled" in cli(bank, "market", "quotes", "1")  # the rule's quote, re-priced away
    assert "Standing request 1 is cancelled." in cli(pp, "market", "standing", "cancel", "1")
    assert "Posted 0 requests" in cli(ops, "market", "standing", "run")
    figures = json.loads(run("--as", "dongguan-castings", "market", "view", "--by",
                             "industry", "--json", cwd=tmp_path, db=db).stdout)  # fmt: skip
    assert figures[0]["filled"] == 150_000_00
    assert figures[0]["spread"] == "0.015000"
