"""Sending one signed delivery to a receiver over HTTP, timed, never raising: what came back
(a status) or why nothing did (an error), in a sentence."""

from __future__ import annotations

import asyncio
import ipaddress
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx

from capillary.domain.webhooks import SIGNATURE_HEADER, is_private_host, signature


async def _status(client: httpx.AsyncClient, url: str, body: bytes, headers: dict[str, str]) -> int:
    async with client.stream("POST", url, content=body, headers=headers) as response:
        return response.status_code


@dataclass(frozen=True, slots=True)
class Answer:
    status: int | None
    latency_us: int
    error: str | None


async def _resolves_privately(host: str) -> bool:
    """Whether ``host`` is, or resolves to, an address on the platform's own network."""
    if is_private_host(host):
        return True
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, None)
    except OSError:
        return False  # unresolvable: the request itself will say so
    return any(not ipaddress.ip_address(info[4][0]).is_global for info in infos)


async def send(
    client: httpx.AsyncClient,
    url: str,
    body: bytes,
    *,
    secret: str,
    event_id: str,
    event_type: str,
    delivery_id: int,
    allow_private: bool,
    timeout: float,
) -> Answer:
    """POST ``body`` to ``url``, signed with ``secret``; redirects are not followed."""
    started = time.perf_counter_ns()
    host = urlsplit(url).hostname or ""
    if not allow_private and await _resolves_privately(host):
        return Answer(None, 0, f"{host} resolves to a private address; not sent")
    headers = {
        "Content-Type": "application/json",
        SIGNATURE_HEADER: signature(secret, int(time.time()), body),
        "Capillary-Event-Id": event_id,
        "Capillary-Event-Type": event_type,
        "Capillary-Delivery": str(delivery_id),
        "User-Agent": "Capillary-Webhooks/1",
    }
    try:
        # The whole exchange within the timeout (a receiver trickling its answer byte by
        # byte included), and the answer's body never read: only its status counts.
        status = await asyncio.wait_for(_status(client, url, body, headers), timeout)
        error = None if 200 <= status < 300 else f"answered {status}"
    except (httpx.TimeoutException, TimeoutError):
        status, error = None, "no answer within the timeout"
    except httpx.HTTPError as exc:
        status, error = None, f"{type(exc).__name__}: {exc}"[:500] or type(exc).__name__
    latency = (time.perf_counter_ns() - started) // 1_000
    return Answer(status, latency, error)
