"""``capillary demo``: a seeded supply-chain economy simulated for a year through the
platform's services, its report (terminal, JSON, an HTML page that works offline), demo API
keys for each kind of participant, and then the API served on it."""

from __future__ import annotations

import json
import secrets
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from capillary.bootstrap import Platform
from capillary.domain.access import UserRole
from capillary.entrypoints.cli import serve as serve_cli
from capillary.entrypoints.cli.context import set_url, url
from capillary.entrypoints.cli.render import console
from capillary.simulation.demo import run_demo
from capillary.simulation.economy import Economy
from capillary.simulation.page import render

DEFAULT_STORE = "capillary-demo.db"


def run(
    orgs: Annotated[int, typer.Option(min=20, max=100_000, help="Organizations.")] = 1_000,
    days: Annotated[int, typer.Option(min=1, max=3_650, help="Days simulated.")] = 365,
    seed: Annotated[int, typer.Option(help="The economy's seed: the same seed, the same run.")] = 7,
    start: Annotated[str, typer.Option(help="The first simulated day.")] = "2026-01-05",
    out: Annotated[Path, typer.Option(help="Where the report goes.")] = Path("capillary-demo"),
    serve: Annotated[bool, typer.Option("--serve/--no-serve",
                                        help="Serve the API on the result.")] = True,
    port: Annotated[int, typer.Option(min=1, max=65535, help="The API's port.")] = 8000,
) -> None:  # fmt: skip
    """Simulate a supply-chain economy through the platform for a year, report what reached
    the small firms at every tier, and serve the API on it (--no-serve for scripts). Runs
    on a fresh capillary-demo.db unless --db names an empty store."""
    try:
        first = date.fromisoformat(start)
    except ValueError:
        raise typer.BadParameter(f"--start is a date as YYYY-MM-DD; got {start!r}") from None
    if serve:  # before a minute of simulation, not after
        serve_cli.check_port("127.0.0.1", port)
    store = url() or f"sqlite:///{DEFAULT_STORE}"
    if url() is None:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{DEFAULT_STORE}{suffix}").unlink(missing_ok=True)
    console.rule("[bold]Capillary: a supply-chain economy")
    console.print(f"{orgs:,} organizations: three core enterprises and their suppliers at "
                  f"four tiers, five funders; {days} days from {first}, seed {seed}; "
                  f"store {store}.")  # fmt: skip
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=console, transient=True) as bar:  # fmt: skip
        task = bar.add_task("simulating", total=days)
        done = run_demo(store, orgs=orgs, days=days, seed=seed, start=first,
                        progress=lambda n, day: bar.update(task, completed=n,
                                                           description=f"{day}"))  # fmt: skip
    platform, economy, report = done.platform, done.economy, done.report
    out.mkdir(parents=True, exist_ok=True)
    (out / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    (out / "report.html").write_text(render(report))
    _print(report)
    chosen = _cast(economy, report)
    keys = _demo_keys(platform, economy, chosen)
    users = _demo_users(platform, economy, chosen)
    (out / "keys.json").write_text(json.dumps(keys, indent=2) + "\n")
    (out / "users.json").write_text(json.dumps(users, indent=2) + "\n")
    (out / "keys.env").write_text("".join(f"{who.upper()}={org}\n{who.upper()}_KEY={token}\n"
                                          for who, (org, token) in keys.items()))  # fmt: skip
    console.print(f"\nThe report: {out / 'report.html'} (and {out / 'report.json'}). "
                  f"Demo API keys ({out / 'keys.json'}; for a shell, `source "
                  f"{out / 'keys.env'}`):")  # fmt: skip
    for who, (org, token) in keys.items():
        console.print(f"  {who:<10} {org:<26} {token}")
    console.print(f"Console users ({out / 'users.json'}), login and password:")
    for who, (login, password) in users.items():
        console.print(f"  {who:<10} {login:<26} {password}")
    platform.ledger.db.dispose()
    if serve:
        console.print(f"\nServing it: the console at http://127.0.0.1:{port}/console/ (sign "
                      f"in as one of the users above), the API at http://127.0.0.1:{port}/docs "
                      f"(`capillary --db {store} …` reaches it from the command line; the "
                      "README's tour walks the loop against it with these keys).")  # fmt: skip
        set_url(store)
        serve_cli.serve(port=port)


def _cast(economy: Economy, report: dict[str, Any]) -> dict[str, str]:
    """Who gets a demo key and a console user: the first core, a supplier at each tier (the
    one holding the most of the cores' credit now, or else the one that received the most),
    a funder, the operator and the auditor."""
    chosen = {"operator": economy.operator, "auditor": economy.auditor,
              "core": economy.cores[0].code, "funder": economy.funders[0].code}  # fmt: skip
    for t in report["reach"]:
        supplier = t["holds_most_now"] or t["most_reached"]
        if supplier is not None:
            chosen[f"tier{t['tier']}"] = supplier
    return chosen


def _demo_keys(
    platform: Platform, economy: Economy, chosen: dict[str, str]
) -> dict[str, tuple[str, str]]:
    ops = platform.parties.principal(economy.operator, "demo", user_role=UserRole.ADMIN)
    keys = {}
    for who, org in chosen.items():
        scopes = "admin" if who == "operator" else "read" if who == "auditor" else "read,write"
        made = platform.keys.create(principal=ops, org=org, name=f"demo {who}", scopes=scopes,
                                    key=f"demo-key-{who}")  # fmt: skip
        keys[who] = (org, made.token or "")
    return keys


def _demo_users(
    platform: Platform, economy: Economy, chosen: dict[str, str]
) -> dict[str, tuple[str, str]]:
    """A console user for each of the cast, its login the organization's code, its password
    random (this sandbox's only)."""
    ops = platform.parties.principal(economy.operator, "demo", user_role=UserRole.ADMIN)
    users = {}
    for who, org in chosen.items():
        password = secrets.token_urlsafe(12)
        role = UserRole.READ_ONLY if who == "auditor" else UserRole.ADMIN
        platform.users.add_user(principal=ops, org=org, login=org, name=f"Demo {who}",
                                role=role, password=password, key=f"demo-user-{who}")  # fmt: skip
        users[who] = (org, password)
    return users


def _print(report: dict[str, Any]) -> None:
    e, v = report["economy"], report["volume"]
    steps = ", ".join(f"{k} {v} s" for k, v in list(e["seconds_by_step"].items())[:5])
    console.print(f"Simulated {e['days']} days in {e['seconds']} s; the most time went to: "
                  f"{steps}.")  # fmt: skip
    moved = Table(title="What moved (CNY)", show_edge=False)
    for column in ("", "count", "amount"):
        moved.add_column(column, justify="right" if column else "left")
    for name, key in (("issued", "issued"), ("passed down as payment", "transferred"),
                      ("financed", "financed"), ("settled", "settled")):  # fmt: skip
        moved.add_row(name, f"{v[key]['count']:,}", f"{v[key]['face'] / 100:,.2f}")
    console.print(moved)
    reach = Table(title="Reach: finance down the tiers", show_edge=False)
    for column in ("tier", "suppliers", "received", "cashed", "financed (CNY)", "rate",
                   "alone", "saved (CNY)", "days to cash", "to maturity"):  # fmt: skip
        reach.add_column(column, justify="right")

    def pct(rate: str | None) -> str:
        return "—" if rate is None else f"{float(rate) * 100:.2f}%"

    def days(median: float | None) -> str:
        return "—" if median is None else f"{median:g}"

    for t in report["reach"]:
        reach.add_row(str(t["tier"]), str(t["suppliers"]), str(t["received"]),
                      str(t["cashed"]), f"{t['financed_face'] / 100:,.2f}", pct(t["rate"]),
                      pct(t["standalone_rate"]), f"{t['saved'] / 100:,.2f}",
                      days(t["median_days_invoice_to_cash"]),
                      days(t["median_days_invoice_to_maturity"]))  # fmt: skip
    console.print(reach)
    console.print("Days to cash: median days from a supplier's invoice to the cash it got "
                  "for the certificate that paid it; to maturity: the days it would wait "
                  "holding it.")  # fmt: skip
    c, o = report["checks"], report["overdue"]
    console.print(f"Overdue: {o['certificates']} certificates ({o['late_fundings']} late "
                  f"fundings), {o['penalty_interest_paid'] / 100:,.2f} CNY penalty interest "
                  f"paid; recourse: {o['recourse_claims']} claims "
                  f"({o['recourse_amount'] / 100:,.2f} CNY), {o['recourse_collected']} "
                  "collected from the sellers.")  # fmt: skip
    chain, balances, books = (c["ledger_chain_intact"], c["balances_equal_postings"],
                              c["books_reconcile"])  # fmt: skip
    console.print(("[green]" if chain and balances and books else "[red]") + "Checks: the "
                  f"ledger's chain {'verifies' if chain else 'FAILS'}; balances "
                  f"{'equal' if balances else 'DIFFER FROM'} their postings; the books "
                  f"{'reconcile' if books else 'DO NOT reconcile'}.")  # fmt: skip
