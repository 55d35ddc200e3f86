"""Webhooks: an organization's endpoints, how a delivery is signed, and when a failed one
is tried again.

Signature scheme (what a receiver checks, docs/events.md shows it in ten lines): the
header ``Capillary-Signature: t=<unix seconds>,v1=<hex>`` where ``<hex>`` is
HMAC-SHA256 keyed with the endpoint's secret over ``<t>.<body>`` (the timestamp, a dot,
and the raw request body). A receiver recomputes it, compares in constant time, and
refuses a timestamp older than a few minutes (a replayed capture).
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import ipaddress
from dataclasses import dataclass
from urllib.parse import urlsplit

from capillary.domain.errors import InvalidWebhook

SIGNATURE_HEADER = "Capillary-Signature"
TOLERANCE_SECONDS = 300
MIN_SECRET = 16


class DeliveryStatus(enum.StrEnum):
    PENDING = "pending"  # due now or after its backoff
    DELIVERED = "delivered"  # the receiver answered 2xx
    FAILED = "failed"  # tried until the retry window closed; replayable by hand


@dataclass(frozen=True, slots=True)
class Endpoint:
    id: int
    org: str
    url: str
    types: tuple[str, ...]
    created_at: int
    created_by: str
    disabled_at: int | None = None

    @property
    def active(self) -> bool:
        return self.disabled_at is None


@dataclass(frozen=True, slots=True)
class Delivery:
    id: int
    endpoint_id: int
    event_id: str
    event_type: str
    status: DeliveryStatus
    attempts: int
    created_at: int
    next_at: int | None
    delivered_at: int | None
    last_status: int | None
    last_error: str | None
    last_latency_us: int | None


@dataclass(frozen=True, slots=True)
class Attempt:
    delivery_id: int
    at: int
    status: int | None  # the receiver's HTTP status, or None if none came
    latency_us: int
    error: str | None


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The signature header's value for ``body`` sent at ``timestamp`` (unix seconds)."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def verify(secret: str, header: str, body: bytes, now: int) -> bool:
    """Whether ``header`` signs ``body`` with ``secret``, made within the tolerance of
    ``now`` (unix seconds): what a receiver does."""
    try:
        parts = dict(p.split("=", 1) for p in header.split(","))
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs(now - timestamp) > TOLERANCE_SECONDS:
        return False
    return hmac.compare_digest(
        signature(secret, timestamp, body), f"t={timestamp},v1={parts.get('v1', '')}"
    )


def backoff_us(attempts: int, base_us: int, cap_us: int, jitter: float) -> int:
    """How long after its ``attempts``-th failure a delivery is tried again: doubling from
    ``base_us`` up to ``cap_us``, scaled by ``jitter`` (drawn in [0, 1) by the caller) into
    [half, all] of that, so receivers that fail together are not retried together."""
    step = min(cap_us, base_us * 2 ** min(max(attempts - 1, 0), 40))
    return int(step * (0.5 + jitter / 2))


def check_url(url: str, *, allow_private: bool) -> str:
    """An endpoint URL: http(s), a host, no credentials; a loopback, private or link-local
    address only where the platform allows it (a sandbox, tests) — otherwise a webhook
    could be aimed at the platform's own network."""
    url = url.strip()
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise InvalidWebhook(f"{url[:200]!r} is not an http(s) URL with a host.")
    if parts.username or parts.password:
        raise InvalidWebhook("An endpoint URL may not carry credentials; the secret signs.")
    if len(url) > 2_000:
        raise InvalidWebhook("An endpoint URL may be at most 2,000 characters.")
    if not allow_private and is_private_host(parts.hostname):
        raise InvalidWebhook(
            f"{parts.hostname} is a loopback, private or link-local address: "
            "webhooks go to the public internet here."
        )
    return url


def is_private_host(host: str) -> bool:
    """Whether ``host`` (a name or a literal address) is local to the platform's network."""
    if host.lower() in ("localhost",) or host.lower().endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return not address.is_global


def check_secret(secret: str) -> str:
    if len(secret) < MIN_SECRET or len(secret) > 200:
        raise InvalidWebhook(
            f"A webhook secret is {MIN_SECRET} to 200 characters; omit it to have one made."
        )
    return secret


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    retry_for_us: int
    first_us: int
    cap_us: int


def after_attempt(
    status: int | None,
    *,
    attempts: int,
    window_from: int,
    now: int,
    policy: RetryPolicy,
    jitter: float,
) -> tuple[DeliveryStatus, int | None]:
    """What becomes of a delivery after its ``attempts``-th attempt answered ``status``
    (``None``: no answer): delivered on a 2xx; otherwise tried again after a backoff, unless
    that would fall past its retry window, then failed."""
    if status is not None and 200 <= status < 300:
        return DeliveryStatus.DELIVERED, None
    retry_at = now + backoff_us(attempts, policy.first_us, policy.cap_us, jitter)
    if retry_at > window_from + policy.retry_for_us:
        return DeliveryStatus.FAILED, None
    return DeliveryStatus.PENDING, retry_at
