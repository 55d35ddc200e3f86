"""The ``capillary`` command."""

from __future__ import annotations

import os
import sys
from importlib import metadata
from typing import Annotated, NoReturn

import typer
from rich.markup import escape
from typer._click.exceptions import ClickException, NoArgsIsHelpError
from typer._click.exceptions import UsageError as ClickUsageError

from capillary.domain.errors import CapillaryError, InternalError, InvalidFile, UsageError
from capillary.entrypoints.cli import (
    backup,
    bank,
    cert,
    clock,
    context,
    db,
    economy_demo,
    events,
    export,
    keys,
    ledger,
    ledger_demo,
    loop_demo,
    market,
    market_standing,
    org,
    risk,
    score,
    score_models,
    serve,
    trade,
    users,
)
from capillary.entrypoints.cli.render import console, errors
from capillary.services.idempotency import watching_replays

app = typer.Typer(
    help="Capillary: open infrastructure for supply-chain finance.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(db.app, name="db")
app.add_typer(clock.platform_app, name="platform")
app.add_typer(clock.clock_app, name="clock")
app.add_typer(ledger.app, name="ledger")
app.add_typer(org.app, name="org")
app.add_typer(trade.app, name="trade")
app.add_typer(cert.app, name="cert")
app.add_typer(cert.credit_app, name="credit")
app.add_typer(cert.cash_app, name="cash")
app.add_typer(keys.app, name="key")
app.add_typer(users.app, name="user")
app.add_typer(events.app, name="webhook")
app.add_typer(score.app, name="score")  # with score_models' commands, registered on it
assert score_models.train is not None
app.add_typer(risk.app, name="risk")
app.add_typer(export.app, name="export")
app.add_typer(bank.app, name="bank")
app.add_typer(market.app, name="market")  # with market_standing's commands, registered on it
assert market_standing.standing_app is not None
app.command("events")(events.events)
app.command("worker")(events.worker)
app.command("demo")(economy_demo.run)
app.command("backup")(backup.backup)
app.command("restore")(backup.restore)
app.command("tour")(loop_demo.run)
app.command("serve")(serve.serve)
app.command("openapi")(serve.openapi)
ledger.app.command("demo")(ledger_demo.run)


def _version(asked: bool) -> None:
    if asked:
        console.print(f"capillary {metadata.version('capillary-finance')}")
        raise typer.Exit()


@app.callback()
def _root(
    database: Annotated[
        str | None,
        typer.Option(
            "--db",
            envvar="CAPILLARY_DATABASE_URL",
            help="Store URL: sqlite:///file.db (default capillary.db) or postgresql://…",
        ),
    ] = None,
    version: Annotated[
        bool,
        typer.Option(
            "--version", is_eager=True, callback=_version, help="Print the version and exit."
        ),
    ] = False,
    acting: Annotated[
        str | None,
        typer.Option(
            "--as",
            envvar="CAPILLARY_AS",
            help="Who acts: ORG[:USER]. Every use case checks what this organization may do.",
        ),
    ] = None,
) -> None:
    context.set_url(database)
    context.set_acting(acting)


def _refuse(exc: CapillaryError) -> NoReturn:
    """One line, ``error <code>: <sentence>``, on standard error; exit 1."""
    message = escape(" ".join(exc.message.split()))
    errors.print(f"[red]error[/red] [bold]{exc.code}[/bold]: {message}", soft_wrap=True)
    sys.exit(1)


def main() -> None:
    """Run the CLI. Whatever goes wrong ends in one line on standard error, ``error <code>:
    <sentence>``, and exit status 1 — a refusal, a mistyped command (``usage_error``), a
    store that cannot be reached — never a stack trace. A write that was a replay of an
    earlier one under the same --key says so."""
    with watching_replays() as replays:
        try:
            code = app(standalone_mode=False)
        except CapillaryError as exc:
            _refuse(exc)
        except NoArgsIsHelpError as exc:  # `capillary ledger` alone: its help
            if exc.ctx is not None:
                console.print(exc.ctx.get_help())
            sys.exit(0)
        except ClickUsageError as exc:
            hint = f" Try '{exc.ctx.command_path} --help'." if exc.ctx is not None else ""
            _refuse(UsageError(f"{exc.format_message()}{hint}"))
        except ClickException as exc:
            _refuse(UsageError(exc.format_message()))
        except (typer.Abort, KeyboardInterrupt):
            errors.print("interrupted; what was not committed was not written.")
            sys.exit(130)
        except RecursionError:
            _refuse(InvalidFile("The input nests too deeply to be read; nothing was written."))
        except OSError as exc:
            if exc.filename is None:  # not a file named on the command line
                _refuse(InternalError(f"{type(exc).__name__}: {exc}; nothing was written."))
            _refuse(InvalidFile(f"{exc.filename}: {exc.strerror or exc}."))
        except Exception as exc:
            if os.environ.get("CAPILLARY_DEBUG"):
                raise
            _refuse(InternalError(
                f"An unexpected {type(exc).__name__} stopped the command; nothing was written. "
                "This is a fault of Capillary's: run again with CAPILLARY_DEBUG=1 and report it."
            ))  # fmt: skip
        status = code if isinstance(code, int) else 0
        if status == 0 and replays:
            console.print(f"[yellow]replayed[/yellow]: key {escape(replays[0])!r} was used "
                          "before; nothing changed, the original result is shown.")  # fmt: skip
        sys.exit(status)
