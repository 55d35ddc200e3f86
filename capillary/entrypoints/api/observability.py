"""What an operator sees of the API: a request id on every answer (taken from the caller's
``X-Request-ID`` when it is a sane one), one JSON log line per request (structlog), and
Prometheus metrics: requests by route and status, latency histograms, and the domain's own
counts read from the store at each scrape (so several workers agree)."""

from __future__ import annotations

import os
import re
import time
import uuid
from collections.abc import Iterator
from typing import Any

import structlog
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from capillary.bootstrap import Platform
from capillary.entrypoints.logs import configure_logging as configure_logging
from capillary.services.idempotency import watching_replays

REQUEST_ID = "X-Request-ID"
_SANE_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")


log = structlog.get_logger("capillary.api")


class Metrics:
    """The API's metrics, in a registry of its own (one per application)."""

    def __init__(self, platform: Platform | None) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "capillary_http_requests_total", "HTTP requests by route, method and status.",
            ["route", "method", "status"], registry=self.registry,
        )  # fmt: skip
        self.latency = Histogram(
            "capillary_http_request_duration_seconds", "HTTP request latency by route.",
            ["route", "method"], registry=self.registry,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
        )  # fmt: skip
        self.domain = None if platform is None else _DomainCounts(platform)
        if self.domain is not None:
            self.registry.register(self.domain)

    def render(self) -> tuple[bytes, str]:
        """The metrics as Prometheus text: with several workers (``PROMETHEUS_MULTIPROC_DIR``
        set by ``capillary serve``), the requests and latencies of all of them."""
        if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            return generate_latest(self.registry), CONTENT_TYPE_LATEST
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        if self.domain is not None:
            registry.register(self.domain)
        return generate_latest(registry), CONTENT_TYPE_LATEST


class _DomainCounts(Collector):
    """Certificates by status, financings, settled amounts: read from the store when
    scraped, so every worker reports the same."""

    def __init__(self, platform: Platform) -> None:
        self.platform = platform

    def collect(self) -> Iterator[GaugeMetricFamily]:
        counts = self.platform.books.domain_counts()
        certs = GaugeMetricFamily(
            "capillary_certificates", "Certificates by status.", labels=["status"]
        )
        for status, n in sorted(counts.certificates.items()):
            certs.add_metric([status], n)
        yield certs
        yield GaugeMetricFamily(
            "capillary_certificates_issued_total", "Certificates ever issued.",
            value=sum(counts.certificates.values()),
        )  # fmt: skip
        yield GaugeMetricFamily(
            "capillary_financings_total", "Fragments financed (sold to a funder).",
            value=counts.financings,
        )  # fmt: skip
        yield GaugeMetricFamily(
            "capillary_fragments_total",
            "Fragments ever made (issue, transfer, financing).",
            value=counts.fragments,
        )
        yield GaugeMetricFamily(
            "capillary_journal_postings_total", "Ledger transactions in the journal.",
            value=counts.postings,
        )  # fmt: skip
        backlog = self.platform.relay.backlog()
        yield GaugeMetricFamily(
            "capillary_events_total", "Events written to the outbox.", value=backlog["events"]
        )
        waiting = GaugeMetricFamily(
            "capillary_events_waiting",
            "Events a worker has yet to hand on: to webhooks (fan_out) or to the stream.",
            labels=["stage"],
        )
        waiting.add_metric(["fan_out"], backlog["unfanned"])
        waiting.add_metric(["stream"], backlog["unpublished"])
        yield waiting
        deliveries = GaugeMetricFamily(
            "capillary_webhook_deliveries", "Webhook deliveries by status.", labels=["status"]
        )
        for status in ("pending", "delivered", "failed"):
            deliveries.add_metric([status], backlog.get(status, 0))
        yield deliveries


class RequestContext:
    """Pure ASGI middleware: request id, replay header, log line, metrics."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = _header(scope, b"x-request-id")
        request_id = given if given and _SANE_ID.fullmatch(given) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        status = 500
        with watching_replays() as replays:

            async def send_with_headers(message: Message) -> None:
                nonlocal status
                if message["type"] == "http.response.start":
                    status = message["status"]
                    headers = list(message.get("headers", []))
                    headers.append((REQUEST_ID.lower().encode(), request_id.encode()))
                    if replays:
                        headers.append((b"idempotent-replayed", b"true"))
                    message["headers"] = headers
                await send(message)

            structlog.contextvars.bind_contextvars(request_id=request_id)
            try:
                await self.app(scope, receive, send_with_headers)
            finally:
                elapsed = time.perf_counter() - started
                route = _route(scope)
                method = scope["method"]
                self.metrics.requests.labels(route, method, str(status)).inc()
                self.metrics.latency.labels(route, method).observe(elapsed)
                state: dict[str, Any] = scope.get("state", {})
                log.info(
                    "request", method=method, path=scope["path"], route=route, status=status,
                    duration_ms=round(elapsed * 1000, 2), key=state.get("key"),
                    replayed=bool(replays),
                )  # fmt: skip
                structlog.contextvars.unbind_contextvars("request_id")


def _route(scope: Scope) -> str:
    """The route's template (``/v1/certificates/{number}``), never the raw path, so the
    metrics' labels stay few."""
    fastapi_scope = scope.get("fastapi")
    if isinstance(fastapi_scope, dict):  # a route of an included router: its full template
        context = fastapi_scope.get("effective_route_context")
        template = getattr(context, "path_format", None)
        if isinstance(template, str) and template:
            return template
    path = getattr(scope.get("route"), "path", None)
    return path if isinstance(path, str) else "unmatched"


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            try:
                return str(value.decode("latin-1"))
            except UnicodeDecodeError:
                return None
    return None


def log_level() -> str:
    return os.environ.get("CAPILLARY_LOG_LEVEL", "INFO")
