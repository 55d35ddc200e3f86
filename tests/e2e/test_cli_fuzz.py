"""Every command of the CLI, and every import format, fed what a careless or hostile person
might type: the answer is exit 0, or exit 1 with one line ``error <code>: <sentence>`` on
standard error (never ``internal_error``, never a traceback), and a refused command writes
nothing. Commands run in-process, through ``capillary``'s own ``main``, on the store the
demo leaves (certificates, fragments, offers, cash, a sandbox clock)."""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import re
import sqlite3
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from capillary.entrypoints.cli import app as cli
from capillary.entrypoints.cli import loop_demo

ONE_LINE = re.compile(r"error ([a-z_]+): \S.*")
#: What a person might type where a value goes: plausible, wrong, and hostile.
TYPED = [
    "",
    " ",
    "0",
    "1",
    "2",
    "3",
    "7",
    "-1",
    "+1",
    "1e3",
    "１２",
    "NaN",
    "Infinity",
    "1,00",
    "1_000",
    "9" * 25,
    str(2**63),
    str(2**63 - 1),
    "0x10",
    "100,000.00",
    "0.001",
    "1.5",
    "2026-02-30",
    "20261127",
    "2026-11-27",
    "2027-01-29",
    "2027-02-01",
    "4.5%",
    "0.045",
    "450%",
    "-4.5%",
    "CNY",
    "cny",
    "KWD",
    "XYZ",
    "ACT/365",
    "orders",
    "invoices",
    "organizations",
    "deliveries",
    "payables",
    "[red]x[/red]",
    "[/]",
    "'; DROP TABLE x;--",
    "é",
    "华鑫",
    "\t",
    "a" * 300,
    "--help",
    "-x",
]
WHO = ["capillary-ops", "huaxin-auto", "precision-parts", "dongguan-castings",
       "foshan-alloys", "merchants-bank", "cicc-factoring", "nobody", "huaxin-auto:ro"]  # fmt: skip
# The demos build their own store (run by test_cli.py); serve listens until stopped (run by
# test_serve.py as a process); so does the worker (run by tests/events as a process).
SKIP = {("demo",), ("tour",), ("ledger", "demo"), ("serve",), ("worker",)}
RUNS: dict[str, int] = {"cli": 0, "imports": 0}
ANSWERS: Counter[str] = Counter()


def _commands() -> list[tuple[tuple[str, ...], Any]]:
    root = typer.main.get_command(cli.app)
    out: list[tuple[tuple[str, ...], Any]] = []

    def walk(path: tuple[str, ...], command: Any) -> None:
        subs = getattr(command, "commands", None)
        if subs:
            for name, sub in sorted(subs.items()):
                walk((*path, name), sub)
        elif path not in SKIP:
            out.append((path, command))

    walk((), root)
    return out


COMMANDS = _commands()


@pytest.fixture(scope="module")
def demo_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    where = tmp_path_factory.mktemp("demo")
    cwd = Path.cwd()
    os.chdir(where)
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            loop_demo.run()
    finally:
        os.chdir(cwd)
    return where / "capillary-demo.db"


@pytest.fixture
def store(demo_store: Path, tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "fuzz.db"
    with sqlite3.connect(demo_store) as src, sqlite3.connect(path) as dst:
        src.backup(dst)
    cwd = Path.cwd()
    os.chdir(tmp_path)  # refused-record files and the like land here
    yield path
    os.chdir(cwd)


def fingerprint(path: Path) -> str:
    """Everything the store holds, as one digest."""
    digest = hashlib.sha256()
    with contextlib.closing(sqlite3.connect(path)) as conn:
        tables = [r[0] for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"
        )]  # fmt: skip
        for table in tables:
            for row in sorted(repr(r) for r in conn.execute(f'SELECT * FROM "{table}"')):
                digest.update(row.encode())
    return digest.hexdigest()


def invoke(path: Path, who: str, args: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    argv = sys.argv
    sys.argv = ["capillary", "--db", f"sqlite:///{path}", "--as", who, *args]
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            cli.main()
        code: Any = 0
    except SystemExit as done:
        code = done.code
    finally:
        sys.argv = argv
    return (code if isinstance(code, int) else 1), out.getvalue(), err.getvalue()


def check(path: Path, who: str, args: list[str]) -> None:
    before = fingerprint(path)
    code, out, err = invoke(path, who, args)
    shown = f"{who} {args!r}\nstdout: {out}\nstderr: {err}"
    assert "Traceback" not in out + err, shown
    assert code in (0, 1), shown
    ANSWERS["ok" if code == 0 else (ONE_LINE.match(err.strip()) or [None, "?"])[1]] += 1
    if code == 1:
        lines = err.strip().splitlines()
        assert len(lines) == 1, shown
        match = ONE_LINE.fullmatch(lines[0])
        assert match is not None, shown
        assert match.group(1) != "internal_error", shown
        assert fingerprint(path) == before, f"a refused command wrote: {shown}"


ORGS = [w.split(":")[0] for w in WHO]
#: Values a parameter of that name plausibly takes, so the fuzz reaches past the parsers.
PLAUSIBLE = {
    "amount": ["1,000.00", "100.00", "50,000", "0.01", "10000", "100,000.00"],
    "limit": ["1,000,000.00", "10"],
    "id": [str(n) for n in range(1, 9)],
    "day": ["2026-11-27", "2026-12-31", "2027-01-29", "2027-02-01", "2026-11-02"],
    "rate": ["4.5%", "0.045", "0", "36%", "12%"],
    "org": ORGS,
    "number": ["CP20261102000001", "26442000000087654321", "PO-2026-0001", "DC-SHIP-2231"],
    "cur": ["CNY", "cny", "USD", "KWD"],
}
KIND_OF = {
    "amount": "amount", "limit": "limit", "fragment": "id", "offer_id": "id", "pending": "id",
    "transaction": "id", "claim": "id", "payable": "id", "timeout": "id", "before": "id",
    "days": "id", "maturity": "day", "expires": "day", "due": "day", "day": "day",
    "start": "day", "at_text": "day", "rate": "rate", "fee": "rate", "recipient": "org",
    "funder": "org", "seller": "org", "org": "org", "obligor": "org", "holder": "org",
    "supplier": "org", "buyer": "org", "party": "org", "operator": "org", "number": "number",
    "cur": "cur",
}  # fmt: skip


def _value(param: Any) -> st.SearchStrategy[str]:
    wild = st.one_of(st.sampled_from(TYPED), st.text(max_size=12))
    kind = KIND_OF.get(param.name or "")
    if kind is None:
        return wild
    return st.one_of(st.sampled_from(PLAUSIBLE[kind]), st.sampled_from(PLAUSIBLE[kind]), wild)


@st.composite
def command_lines(draw: st.DrawFn) -> tuple[str, list[str]]:
    path, command = draw(st.sampled_from(COMMANDS))
    args = list(path)
    for param in command.params:
        if param.name in ("help",):
            continue
        opts = [o for o in param.opts if o.startswith("--")] or param.opts
        if param.param_type_name == "argument":
            args.append(draw(_value(param)))
        elif getattr(param, "is_flag", False):
            if draw(st.booleans()):
                args.append(draw(st.sampled_from(param.opts + param.secondary_opts)))
        elif param.name == "key" and not param.required:
            continue  # a fresh key each time; replays are tested where they are meant
        elif param.required or draw(st.booleans()):
            args += [opts[0], draw(_value(param))]
    return draw(st.sampled_from(WHO)), args


@settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck))
@given(line=command_lines())
def test_every_command_answers_any_input_in_one_line(store: Path, line: Any) -> None:
    who, args = line
    RUNS["cli"] += 1
    check(store, who, args)


IMPORTS = [("org", "organizations"), ("org", "relationships"), ("trade", "orders"),
           ("trade", "deliveries"), ("trade", "invoices")]  # fmt: skip
COLUMNS = ["seller", "buyer", "supplier", "code", "number", "order_number", "currency",
           "issue_date", "order_date", "delivered_on", "amount", "tax", "total", "line_no",
           "order_line_no", "quantity", "unit_price", "line_amount", "tax_rate", "line_tax",
           "item", "uom", "name", "id_scheme", "id_value", "roles",
           "tolerance_absolute"]  # fmt: skip


@st.composite
def import_files(draw: st.DrawFn) -> tuple[str, str, str, bytes]:
    group, kind = draw(st.sampled_from(IMPORTS))
    header = draw(st.lists(st.sampled_from(COLUMNS), min_size=1, max_size=10))
    cell = st.one_of(st.sampled_from(TYPED), st.text(max_size=8))
    rows = draw(st.lists(st.lists(cell, min_size=0, max_size=len(header) + 2), max_size=6))
    fmt = draw(st.sampled_from(["csv", "json", "json-garbage"]))
    if fmt == "csv":
        lines = [",".join(header)] + [",".join(r) for r in rows]
        text = "\n".join(lines)
    elif fmt == "json":
        records = [dict(zip(header, r, strict=False)) for r in rows]
        text = repr(records).replace("'", '"')
    else:
        text = draw(st.text(max_size=60))
    encoding = draw(st.sampled_from(["utf-8", "gbk", "utf-8-sig"]))
    try:
        data = text.encode(encoding)
    except UnicodeEncodeError:
        data = text.encode("utf-8")
    return group, kind, "json" if fmt.startswith("json") else "csv", data


@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
@given(file=import_files(), who=st.sampled_from(WHO))
def test_every_import_format_answers_any_file_in_one_line(store: Path, file: Any, who: str) -> None:
    group, kind, suffix, data = file
    path = store.parent / f"in.{suffix}"
    path.write_bytes(data)
    RUNS["imports"] += 1
    check(store, who, [group, "import", kind, str(path)])


def test_the_fuzz_ran(capsys: pytest.CaptureFixture[str]) -> None:
    """Says how many inputs were tried (run with -s to see it), for the record."""
    with capsys.disabled():
        print(
            f"\nfuzzed: {RUNS['cli']} command lines, {RUNS['imports']} import files; "
            f"answers: {dict(ANSWERS.most_common())}"
        )
