"""``capillary webhook …``, ``capillary events`` and ``capillary worker``: an organization's
endpoints and their delivery logs, the events that concern it, and the process that relays
them."""

from __future__ import annotations

import asyncio
import signal
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table

from capillary.domain.webhooks import DeliveryStatus
from capillary.entrypoints.cli.context import Key, new_key, platform, principal
from capillary.entrypoints.cli.render import console, when

if TYPE_CHECKING:
    from capillary.entrypoints.worker import Worker

app = typer.Typer(
    help="Webhooks: where an organization's events are sent, signed, and how that went.",
    no_args_is_help=True,
)


@app.command()
def add(
    url: Annotated[str, typer.Argument(help="Where to POST events (https://…).")],
    types: Annotated[
        str, typer.Option(help="Event types, comma-separated, or * for all of them.")
    ] = "*",
    secret: Annotated[
        str | None, typer.Option(help="The signing secret (16+ characters; default: made).")
    ] = None,
    key: Key = None,
) -> None:
    """Register an endpoint of the acting organization; the signing secret is printed once."""
    made = platform().webhooks.register(
        principal=principal(), url=url, types=types.split(","), secret=secret, key=new_key(key)
    )
    e = made.endpoint
    console.print(f"Endpoint {e.id} of {escape(e.org)}: {escape(e.url)} ({', '.join(e.types)}).")
    if made.secret is None:
        console.print("This registration was replayed: the secret was shown when it was made.")
    else:
        console.print("Signing secret (keep it; it is not shown again):")
        console.print(made.secret, markup=False, soft_wrap=True)


@app.command("list")
def list_(
    org: Annotated[str | None, typer.Option(help="Whose endpoints (default: yours).")] = None,
) -> None:
    """Endpoints: id, organization, URL, event types, status."""
    table = Table(show_edge=False)
    for column in ("id", "org", "url", "types", "created", "status"):
        table.add_column(column)
    for e in platform().webhooks.endpoints(principal=principal(), org=org):
        table.add_row(str(e.id), escape(e.org), escape(e.url), ",".join(e.types),
                      when(e.created_at),
                      "active" if e.active else f"disabled {when(e.disabled_at or 0)}")  # fmt: skip
    console.print(table)


@app.command()
def disable(
    endpoint_id: Annotated[int, typer.Argument(help="The endpoint's id.")],
    key: Key = None,
) -> None:
    """Disable an endpoint: nothing more is sent to it."""
    e = platform().webhooks.disable(endpoint_id, principal=principal(), key=new_key(key))
    console.print(f"Endpoint {e.id} of {escape(e.org)} is disabled.")


@app.command()
def deliveries(
    endpoint_id: Annotated[int, typer.Argument(help="The endpoint's id.")],
    status: Annotated[
        str | None, typer.Option(help="pending, delivered or failed (default: all).")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="At most this many.")] = 50,
) -> None:
    """The endpoint's delivery log, newest first."""
    wanted = _status(status)
    rows = platform().webhooks.deliveries(
        endpoint_id, principal=principal(), status=wanted, limit=limit
    )
    table = Table(show_edge=False)
    for column in ("delivery", "event", "type", "status", "attempts", "last", "latency", "error"):
        table.add_column(column)
    for d in rows:
        latency = f"{d.last_latency_us / 1000:,.1f} ms" if d.last_latency_us is not None else ""
        table.add_row(str(d.id), d.event_id, d.event_type, d.status.value, str(d.attempts),
                      str(d.last_status or ""), latency, escape(d.last_error or ""))  # fmt: skip
    console.print(table)


@app.command()
def replay(
    endpoint_id: Annotated[int, typer.Argument(help="The endpoint's id.")],
    delivery: Annotated[
        list[int] | None, typer.Option(help="A failed delivery to send again (default: all).")
    ] = None,
    key: Key = None,
) -> None:
    """Send failed deliveries again, each with a fresh retry window."""
    count = platform().webhooks.replay(
        endpoint_id, principal=principal(), key=new_key(key), delivery_ids=delivery or None
    )
    console.print(f"{count} failed deliver{'y' if count == 1 else 'ies'} due again.")


def _status(status: str | None) -> DeliveryStatus | None:
    if status is None:
        return None
    try:
        return DeliveryStatus(status)
    except ValueError:
        raise typer.BadParameter("status is pending, delivered or failed") from None


def events(
    after: Annotated[int, typer.Option(help="Only events after this sequence number.")] = 0,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="At most this many.")] = 50,
    type_: Annotated[
        list[str] | None, typer.Option("--type", help="Only events of this type.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON envelope per line.")] = False,
) -> None:
    """The events that concern the acting organization, oldest first."""
    from capillary.services.relay import stored_body

    found = platform().webhooks.events(
        principal=principal(), after=after, limit=limit, types=type_ or ()
    )
    if as_json:
        for e in found:
            typer.echo(stored_body(e).decode())
        return
    table = Table(show_edge=False)
    for column in ("seq", "id", "type", "at", "subject", "organizations"):
        table.add_column(column)
    for e in found:
        table.add_row(str(e.seq), e.id, e.type, when(e.at), escape(e.subject),
                      escape(", ".join(e.orgs)))  # fmt: skip
    console.print(table)


def worker(
    nats_url: Annotated[
        str | None, typer.Option(help="Publish events to this NATS server (JetStream).")
    ] = None,
    no_jobs: Annotated[
        bool, typer.Option("--no-jobs", help="Relay events only; run no scheduled jobs.")
    ] = False,
    poll: Annotated[float, typer.Option(min=0.01, max=60, help="Seconds between looks.")] = 0.1,
    log_level: Annotated[
        str, typer.Option(help="debug, info, warning or error (JSON lines on stdout).")
    ] = "info",
) -> None:
    """Relay events to webhooks (and NATS), and run the scheduled jobs: sealing, expiring
    holds, the day's settlement run, cash-short warnings. Stops on Ctrl-C or SIGTERM."""
    from capillary.entrypoints.logs import configure_logging
    from capillary.entrypoints.worker import Worker, config_from_settings

    p = platform()
    config = config_from_settings(nats_url=nats_url, jobs=not no_jobs, poll=poll)
    console.print(
        f"Capillary worker on {p.ledger.db.display_url}: webhooks"
        f"{', NATS ' + config.nats_url if config.nats_url else ''}"
        f"{', scheduled jobs' if config.jobs else ''}. Ctrl-C stops it."
    )
    configure_logging(log_level)
    run_worker(Worker(p, config))


def run_worker(w: Worker) -> None:
    """Run ``w`` (a :class:`~capillary.entrypoints.worker.Worker`) until SIGINT or SIGTERM."""

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await w.run(stop)

    asyncio.run(main())
