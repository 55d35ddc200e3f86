"""``capillary serve``: the HTTP API (and, later, the console) under uvicorn."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from capillary.domain.errors import InvalidFile
from capillary.entrypoints.cli.context import platform, url
from capillary.entrypoints.cli.render import console


def check_port(host: str, port: int) -> None:
    """Refuse, before any work, a port something else listens on."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise typer.BadParameter(
                f"{host}:{port} cannot be served on ({exc.strerror}); another server may "
                "be there: stop it, or name another port with --port."
            ) from None


def serve(
    host: Annotated[str, typer.Option(help="The address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="The TCP port.")] = 8000,
    workers: Annotated[
        int, typer.Option(min=1, max=64, help="Worker processes (each with its own pool).")
    ] = 1,
    log_level: Annotated[
        str, typer.Option(help="debug, info, warning or error (JSON lines on stdout).")
    ] = "info",
    with_worker: Annotated[
        bool,
        typer.Option("--with-worker", help="Also run `capillary worker` beside the server."),
    ] = False,
) -> None:
    """Serve the API on the store named by --db: docs at /docs, the spec at /openapi.json,
    health at /healthz and /readyz, metrics at /metrics."""
    check_port(host, port)
    db = platform().ledger.db  # refuses a store behind this version, before listening
    if url() is not None:
        os.environ["CAPILLARY_DATABASE_URL"] = url() or ""
    os.environ["CAPILLARY_LOG_LEVEL"] = log_level.upper()
    console.print(
        f"Capillary API on http://{host}:{port} (store {db.display_url}, {workers} worker"
        f"{'s' if workers > 1 else ''}): docs at http://{host}:{port}/docs"
    )
    import uvicorn  # the server's imports, only when serving

    shared = None
    if workers > 1:  # every worker's request metrics, summed at each scrape
        shared = tempfile.mkdtemp(prefix="capillary-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = shared
    relay = None
    if with_worker:  # its own process: its event loop and the store's threads stay apart
        relay = subprocess.Popen([sys.executable, "-m", "capillary", "worker"])
    try:
        _run(uvicorn, host, port, workers, log_level)
    finally:
        if relay is not None:
            relay.terminate()
            try:
                relay.wait(timeout=30)
            except subprocess.TimeoutExpired:
                relay.kill()
        if shared is not None:
            shutil.rmtree(shared, ignore_errors=True)


def _run(uvicorn: Any, host: str, port: int, workers: int, log_level: str) -> None:
    uvicorn.run(
        "capillary.entrypoints.api.app:app_from_environment",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=log_level.lower(),
        access_log=False,  # one JSON line per request comes from the application
        proxy_headers=False,
    )


def openapi(
    out: Annotated[Path | None, typer.Option(help="Write it here (default: print it).")] = None,
) -> None:
    """The API's OpenAPI document (the contract checked in as docs/openapi.json)."""
    from capillary.entrypoints.api.app import spec_text  # the API's imports, only when asked

    text = spec_text()
    if out is None:
        sys.stdout.write(text)
        return
    try:
        out.write_text(text, encoding="utf-8")
    except (OSError, ValueError) as exc:
        raise InvalidFile(f"Cannot write the spec to {str(out)!r}: {exc}.") from None
    console.print(f"Wrote {escape(str(out))} ({len(text):,} bytes).")
