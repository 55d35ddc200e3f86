"""The rules of events and webhooks, free of I/O: who is told, how a delivery is signed and
verified (the docs' ten lines included), when a failure is tried again, which URLs and types
are refused."""

from __future__ import annotations

import re
import time
from datetime import date
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from capillary.domain import wire
from capillary.domain.certificates import Certificate, CertificateStatus, Fragment, FragmentStatus
from capillary.domain.errors import InvalidWebhook
from capillary.domain.events import EventType, moved_events, parse_types, settled_events
from capillary.domain.webhooks import (
    DeliveryStatus,
    RetryPolicy,
    after_attempt,
    backoff_us,
    check_url,
    signature,
    verify,
)
from capillary.entrypoints.api.schemas.loop import CertificateOut, FragmentOut

DOCS = Path(__file__).resolve().parents[2] / "docs" / "events.md"
CERT = Certificate(1, "CP20261102000001", "core", "tier1", "CNY", 100_000_00,
                   date(2026, 11, 2), date(2027, 2, 26), CertificateStatus.ACTIVE)  # fmt: skip


def _frag(fid: int, holder: str, amount: int, path: str) -> Fragment:
    return Fragment(fid, 1, None, holder, amount, FragmentStatus.ACTIVE, path.count("/") + 1, path)


def test_a_transfer_tells_the_recipient_of_its_own_fragment_only() -> None:
    mine, change = _frag(4, "tier3", 30_00, "1/2/4"), _frag(5, "tier2", 70_00, "1/2/5")
    told, received = moved_events(CERT, [mine, change], sender="tier2", recipient="tier3",
                                  at=1, posting=9, reference="contract:X")  # fmt: skip
    assert (told.type, told.orgs) == (EventType.CERTIFICATE_TRANSFERRED, ("core", "tier2"))
    assert [f["id"] for f in told.payload["fragments"]] == [4, 5]
    assert (received.type, received.orgs) == (EventType.CERTIFICATE_RECEIVED, ("tier3",))
    assert received.payload["fragment"]["id"] == 4
    assert "70.00" not in str(received.payload)  # the sender's change is a sibling branch


def test_settlement_tells_each_holder_its_own_payout() -> None:
    frags = [_frag(2, "tier2", 60_000_00, "1/2"), _frag(3, "tier3", 40_000_00, "1/3")]
    events = settled_events(CERT, frags, {"tier2": 60_000_00, "tier3": 40_000_00}, 1,
                            date(2027, 2, 26))  # fmt: skip
    assert [e.orgs for e in events] == [("core",), ("tier2",), ("tier3",)]
    assert len(events[0].payload["payouts"]) == 2
    assert events[2].payload["paid"] == {"amount": "40000.00", "currency": "CNY"}
    assert "tier2" not in str(events[2].payload)


@given(face=st.integers(1, 10**15), amount=st.integers(1, 10**15),
       cur=st.sampled_from(["CNY", "JPY", "USD", "BHD"]))  # fmt: skip
def test_wire_shapes_are_the_api_models_unchanged(face: int, amount: int, cur: str) -> None:
    c = Certificate(7, "CP1", "core", "tier1", cur, face, date(2026, 1, 1), date(2026, 6, 1),
                    CertificateStatus.ACTIVE)  # fmt: skip
    f = _frag(9, "tier2", amount, "1/9")
    assert CertificateOut.model_validate(wire.certificate(c)).model_dump(mode="json") == (
        wire.certificate(c)
    )
    assert FragmentOut.model_validate(wire.fragment(f, c)).model_dump(mode="json") == (
        wire.fragment(f, c)
    )


def test_a_signature_verifies_and_a_tampered_or_stale_one_does_not() -> None:
    body, now = b'{"id":"e1"}', int(time.time())
    header = signature("whsec_0123456789abcdef", now, body)
    assert verify("whsec_0123456789abcdef", header, body, now)
    assert not verify("whsec_0123456789abcdef", header, body + b" ", now)
    assert not verify("another-secret-0123", header, body, now)
    assert not verify("whsec_0123456789abcdef", header, body, now + 301)
    assert not verify("whsec_0123456789abcdef", "garbage", body, now)


def test_the_documented_ten_line_receiver_verifies_our_signatures() -> None:
    text = DOCS.read_text(encoding="utf-8")
    block = re.search(r"verifies it in ten lines:\n\n```python\n(.*?)```", text, re.S)
    assert block is not None
    code = block.group(1)
    assert len([line for line in code.splitlines() if line.strip()]) <= 10
    scope: dict[str, object] = {}
    exec(code, scope)
    verified = scope["verified"]
    body = b'{"type":"certificate.received"}'
    header = signature("whsec_0123456789abcdef", int(time.time()), body)
    assert verified("whsec_0123456789abcdef", header, body)  # type: ignore[operator]
    assert not verified("whsec_0123456789abcdef", header, body[:-1])  # type: ignore[operator]
    assert not verified("whsec_0123456789abcdef", "t=x,v1=", body)  # type: ignore[operator]


@given(attempts=st.integers(1, 60), jitter=st.floats(0, 1, exclude_max=True))
def test_backoff_doubles_with_jitter_up_to_its_cap(attempts: int, jitter: float) -> None:
    first, cap = 5_000_000, 3_600_000_000
    delay = backoff_us(attempts, first, cap, jitter)
    step = min(cap, first * 2 ** (attempts - 1))
    assert step // 2 <= delay <= step
    assert backoff_us(attempts + 1, first, cap, jitter) >= delay


def test_after_an_attempt_a_delivery_is_delivered_retried_or_failed() -> None:
    policy = RetryPolicy(retry_for_us=60_000_000, first_us=1_000_000, cap_us=10_000_000)
    now = 1_000_000_000
    assert after_attempt(204, attempts=1, window_from=now, now=now, policy=policy,
                         jitter=0.5) == (DeliveryStatus.DELIVERED, None)  # fmt: skip
    for status in (500, 404, 301, None):
        outcome, at = after_attempt(status, attempts=1, window_from=now, now=now,
                                    policy=policy, jitter=0.5)  # fmt: skip
        assert outcome is DeliveryStatus.PENDING
        assert at == now + 750_000
    assert after_attempt(500, attempts=9, window_from=now, now=now + 55_000_000,
                         policy=policy, jitter=0.5) == (DeliveryStatus.FAILED, None)  # fmt: skip


@pytest.mark.parametrize("url", [
    "ftp://erp.example.com/x", "https://user:pw@erp.example.com/", "http:///nohost",
    "http://localhost:8080/", "http://127.0.0.1/", "http://10.1.2.3/", "http://[::1]/",
    "http://169.254.169.254/latest/meta-data", "http://192.168.0.10/", "http://app.localhost/",
])  # fmt: skip
def test_webhook_urls_off_the_public_internet_are_refused(url: str) -> None:
    with pytest.raises(InvalidWebhook):
        check_url(url, allow_private=False)


def test_a_sandbox_may_aim_webhooks_at_loopback() -> None:
    assert check_url(" http://127.0.0.1:9000/hook ", allow_private=True) == (
        "http://127.0.0.1:9000/hook"
    )
    assert check_url("https://erp.example.com/h", allow_private=False)


def test_event_types_are_known_ones_or_all() -> None:
    assert parse_types(["certificate.received", " certificate.received"]) == (
        "certificate.received",
    )
    assert parse_types(["*", "payable.confirmed"]) == ("*",)
    with pytest.raises(InvalidWebhook, match=r"certificate\.issued"):
        parse_types(["certificate.sent"])
    with pytest.raises(InvalidWebhook):
        parse_types([" "])
