"""The ``capillary`` command as a person runs it: a real process, real files."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from capillary.adapters import migrate
from capillary.bootstrap import open_platform

CAPILLARY = shutil.which("capillary", path=str(Path(sys.executable).parent)) or "capillary"


def run(
    *args: str, cwd: Path, db: str | None = None, ok: bool = True, who: str | None = None
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "160"}
    if db is not None:
        env["CAPILLARY_DATABASE_URL"] = db
    if who is not None:
        env["CAPILLARY_AS"] = who
    done = subprocess.run(
        [CAPILLARY, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )
    if ok:
        assert done.returncode == 0, done.stdout + done.stderr
    return done


def test_the_demo_runs_the_closed_loop_and_verifies(tmp_path: Path) -> None:
    out = " ".join(run("tour", cwd=tmp_path).stdout.split())  # as read, not as wrapped
    for step in (
        "1. Participants",
        "which is not a business day, so due 2027-02-01",
        "discount 562.50, cash today 49,437.50",
        "tier 5",
        "3 fragments settled",
        "verify intact",
        "cash owed to organizations 3,000,000.00 = clearing 3,000,000.00",
    ):
        assert step in out, step
    assert (tmp_path / "capillary-demo.db").exists()


def test_the_ledger_demo_walks_through_the_ledger_and_verifies(tmp_path: Path) -> None:
    done = run("ledger", "demo", cwd=tmp_path)
    out = done.stdout
    steps = (
        "1. Accounts opened",
        "4. The same payment sent again",
        "debits_exceed_credits",
        "7. 150,000.00 of the hold",
        "9. precision-parts pays",
        "verify: intact",
    )
    for step in steps:
        assert step in out
    assert (tmp_path / "capillary-ledger-demo.db").exists()


def operated(
    tmp_path: Path, db: str, orgs: tuple[str, ...] = ()
) -> Callable[..., subprocess.CompletedProcess[str]]:
    """A fresh platform whose operator ``ops`` runs the commands (``who=`` for another),
    with ``orgs`` registered as suppliers."""
    run("platform", "init", "ops", "--name", "Platform Operator", "--id", "91310115MA1K4LQP0J",
        cwd=tmp_path, db=db)  # fmt: skip
    for n, code in enumerate(orgs):
        run("org", "create", code, "--name", f"{code} Ltd", "--scheme", "test",
            "--id", f"T-{n:04d}", "--roles", "supplier", cwd=tmp_path, db=db,
            who="ops:cli")  # fmt: skip

    def as_ops(*args: str, ok: bool = True, who: str = "ops:cli") -> Any:
        return run(*args, cwd=tmp_path, db=db, ok=ok, who=who)

    return as_ops


def test_a_ledger_session_from_the_command_line(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'books.db'}"
    head = migrate.head_revision()
    assert f"from empty to revision {head}" in run("db", "upgrade", cwd=tmp_path, db=db).stdout
    assert f"already at revision {head}" in run("db", "upgrade", cwd=tmp_path, db=db).stdout
    ops = operated(tmp_path, db, orgs=("acme", "beta"))
    ops("ledger", "open", "platform", "clearing", "CNY")
    ops("ledger", "open", "acme", "cash", "CNY", "--type", "liability",
        "--constraint", "debits_must_not_exceed_credits")  # fmt: skip
    ops("ledger", "open", "beta", "cash", "CNY", "--type", "liability")
    posted = ops("ledger", "post", "--key", "dep-1", "-d", "platform:clearing:CNY=1,000.50",
                 "-c", "acme:cash:CNY=1000.50", "--ref", "bank")  # fmt: skip
    assert "Posted transaction 1" in posted.stdout
    again = ops("ledger", "post", "--key", "dep-1", "-d", "platform:clearing:CNY=1000.50",
                "-c", "acme:cash:CNY=1000.50", "--ref", "bank")  # fmt: skip
    assert "Replayed transaction 1" in again.stdout
    ops("ledger", "post", "--key", "pay-1", "-d", "2=400", "-c", "beta:cash:CNY=400")  # fmt: skip
    balance = ops("ledger", "balance", "acme:cash:CNY").stdout
    assert "600.50" in balance
    history = ops("ledger", "history", "2").stdout
    assert "pay-1" in history
    assert "dep-1" in history
    before = " ".join(ops("ledger", "verify").stdout.split())  # verify never seals
    assert "0 sealed entries" in before
    assert "2 not yet sealed, the oldest posted" in before
    assert "Sealed 2 entries" in ops("ledger", "seal").stdout
    verified = ops("ledger", "verify").stdout
    assert "Journal verified" in verified
    assert "2 sealed entries" in verified
    listing = ops("ledger", "accounts").stdout
    assert "beta:cash" in listing
    # An organization reads its own books, nobody else's, and posts nothing by hand.
    assert "600.50" in ops("ledger", "balance", "acme:cash:CNY", who="acme").stdout
    assert "beta:cash" not in ops("ledger", "accounts", who="acme").stdout
    hidden = ops("ledger", "balance", "beta:cash:CNY", who="acme", ok=False)
    assert "error account_not_found" in hidden.stderr
    forbidden = ops("ledger", "post", "--key", "grab", "-d", "beta:cash:CNY=1",
                    "-c", "acme:cash:CNY=1", who="acme", ok=False)  # fmt: skip
    assert "error forbidden" in forbidden.stderr or "account_not_found" in forbidden.stderr
    nobody = run("ledger", "post", "--key", "x", "-d", "1=1", "-c", "2=1", cwd=tmp_path, db=db,
                 ok=False)  # fmt: skip
    assert "error no_principal" in nobody.stderr


def test_version(tmp_path: Path) -> None:
    assert run("--version", cwd=tmp_path).stdout.startswith("capillary 0.")


def test_refusals_are_a_code_and_a_sentence_never_a_traceback(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'books.db'}"
    ops = operated(tmp_path, db, orgs=("acme", "beta"))
    ops("ledger", "open", "acme", "cash", "CNY", "--constraint",
        "debits_must_not_exceed_credits")  # fmt: skip
    ops("ledger", "open", "beta", "cash", "CNY")
    cases = [
        ("debits_exceed_credits", ["ledger", "post", "--key", "k", "-d", "1=5", "-c", "2=5"]),
        ("invalid_amount", ["ledger", "post", "--key", "k", "-d", "1=0.001", "-c", "2=0.001"]),
        ("invalid_amount", ["ledger", "post", "--key", "k", "-d", "1=1e3", "-c", "2=1e3"]),
        ("unbalanced_transaction", ["ledger", "post", "--key", "k", "-d", "2=5", "-c", "1=4"]),
        ("account_not_found", ["ledger", "balance", "nobody:cash:CNY"]),
        ("account_exists", ["ledger", "open", "acme", "cash", "CNY"]),
        ("unit_not_found", ["ledger", "open", "acme", "cash", "XXX"]),
        ("validation_error", ["ledger", "balance", "not-an-account"]),
        ("validation_error", ["ledger", "open", "acme", "loans", "CNY", "--type", "banana"]),
        ("organization_not_found", ["ledger", "open", "ghost", "cash", "CNY"]),
        ("validation_error", ["ledger", "verify", "--anchor", "1:zz"]),  # input, not tampering
        ("invalid_id", ["ledger", "void", "１", "--key", "v"]),
        ("invalid_date", ["ledger", "balance", "acme:cash:CNY", "--at", "yesterday"]),
    ]
    for code, args in cases:
        done = ops(*args, ok=False)
        assert done.returncode == 1, (code, done.stdout, done.stderr)
        assert f"error {code}:" in done.stderr, (code, done.stderr, done.stderr)
        assert "Traceback" not in done.stdout + done.stderr
    usage = ops("ledger", "post", ok=False)
    assert usage.returncode == 1
    assert "error usage_error: Missing option '--key'" in usage.stderr
    assert "Traceback" not in usage.stderr


def test_verify_fails_loudly_on_a_tampered_journal(tmp_path: Path) -> None:
    import sqlite3

    db_file = tmp_path / "books.db"
    db = f"sqlite:///{db_file}"
    ops = operated(tmp_path, db, orgs=("acme", "beta"))
    ops("ledger", "open", "acme", "cash", "CNY")
    ops("ledger", "open", "beta", "cash", "CNY")
    ops("ledger", "post", "--key", "k", "-d", "1=5", "-c", "2=5")
    ops("ledger", "seal")
    with sqlite3.connect(db_file) as conn:
        conn.execute("DROP TRIGGER postings_append_only_update")
        conn.execute("UPDATE postings SET amount = 6")
    done = ops("ledger", "verify", ok=False)
    assert done.returncode == 1
    assert "changed: Entry seq 1 (transaction 1) was changed" in done.stdout
    assert "balance_mismatch" in done.stdout


@pytest.mark.postgres
def test_the_cli_runs_on_postgresql(pg_template_url: str, tmp_path: Path) -> None:
    from tests.conftest import reset_postgres

    reset_postgres(pg_template_url)
    db = pg_template_url
    ops = operated(tmp_path, db, orgs=("acme", "beta"))
    ops("ledger", "open", "acme", "cash", "CNY")
    ops("ledger", "open", "beta", "cash", "CNY")
    ops("ledger", "post", "--key", "k", "-d", "1=5", "-c", "2=5")
    assert "Journal verified" in ops("ledger", "verify").stdout


def test_every_command_option_and_argument_says_what_it_is() -> None:
    import typer

    from capillary.entrypoints.cli.app import app

    missing = []

    def walk(path: tuple[str, ...], command: Any) -> None:
        for name, sub in (getattr(command, "commands", None) or {}).items():
            walk((*path, name), sub)
        if getattr(command, "commands", None):
            return
        if not (command.help or "").strip():
            missing.append(" ".join(path))
        missing.extend(
            f"{' '.join(path)} {p.name}"
            for p in command.params
            if p.name != "help" and not getattr(p, "help", None)
        )

    walk((), typer.main.get_command(app))
    assert missing == []


def test_the_demo_economy_reports_and_hands_out_keys(tmp_path: Path) -> None:
    """``capillary demo`` small and without serving, as a script would run it: the report
    in the terminal and on disk, keys for each kind of participant, and a refusal to build
    into a store that has a platform already."""
    done = run("demo", "--orgs", "40", "--days", "30", "--no-serve", cwd=tmp_path)
    out = " ".join(done.stdout.split())
    assert "40 organizations" in out
    assert "Reach: finance down the tiers" in out
    assert (
        "Checks: the ledger's chain verifies; balances equal their postings; the books reconcile."
    ) in out
    report = json.loads((tmp_path / "capillary-demo" / "report.json").read_text())
    assert report["economy"]["organizations"] == 40
    assert "<svg" in (tmp_path / "capillary-demo" / "report.html").read_text()
    keys = json.loads((tmp_path / "capillary-demo" / "keys.json").read_text())
    assert {"operator", "auditor", "core", "funder", "tier1"} <= set(keys)
    assert all(token.startswith("cap_") for _, token in keys.values())
    users = json.loads((tmp_path / "capillary-demo" / "users.json").read_text())
    assert set(users) == set(keys)
    demo = open_platform(f"sqlite:///{tmp_path / 'capillary-demo.db'}")
    try:  # each demo user signs in with the password handed out
        for who, (login, password) in users.items():
            assert demo.users.sign_in(login, password).user.org == keys[who][0]
    finally:
        demo.ledger.db.dispose()
    again = run("--db", f"sqlite:///{tmp_path / 'capillary-demo.db'}", "demo", "--no-serve",
                cwd=tmp_path, ok=False)  # fmt: skip
    assert again.returncode != 0
    assert "has a platform already" in " ".join((again.stdout + again.stderr).split())
