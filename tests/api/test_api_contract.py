"""The API's contract: the spec checked in, errors as problems, idempotency, request ids,
health, readiness and metrics — over a real server on a loopback port."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from capillary.client import ApiError, v1
from capillary.entrypoints.api.app import create_app, spec_text
from tests.api.conftest import CAST, World

SPEC = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"


def test_the_checked_in_spec_is_the_live_one() -> None:
    """A change of contract is a visible diff: regenerate with `capillary openapi --out
    docs/openapi.json` and commit it."""
    assert SPEC.read_text(encoding="utf-8") == spec_text()


def test_every_operation_is_described_with_its_errors() -> None:
    spec = create_app(None).openapi()
    for path, operations in spec["paths"].items():
        for method, op in operations.items():
            where = f"{method.upper()} {path}"
            assert op.get("summary"), where
            if not path.startswith("/v1/"):
                continue
            statuses = set(op["responses"])
            assert {"401", "403", "422"} <= statuses, where
            if method == "post":
                assert {"400", "404", "409"} <= statuses, where
                assert any(p["name"] == "Idempotency-Key" for p in op["parameters"]), where
            assert op.get("security") == [{"ApiKey": []}], where


def test_money_is_never_a_number_in_the_spec() -> None:
    schemas = create_app(None).openapi()["components"]["schemas"]
    assert schemas["Money"]["properties"]["amount"]["type"] == "string"
    for name, schema in schemas.items():
        for field, prop in schema.get("properties", {}).items():
            assert prop.get("type") not in ("number",), f"{name}.{field} is a number"


def test_errors_are_problems_with_a_request_id(world: World) -> None:
    with httpx.Client(base_url=world.base) as http:
        anonymous = http.get("/v1/certificates")
        assert anonymous.status_code == 401
        assert anonymous.headers["content-type"] == "application/problem+json"
        body = anonymous.json()
        assert body["code"] == "unauthorized"
        assert body["request_id"] == anonymous.headers["x-request-id"]
        mine = http.get("/v1/clock", headers={"X-Request-ID": "erp-42"})
        assert mine.headers["x-request-id"] == "erp-42"
        odd = http.get("/v1/clock", headers={"X-Request-ID": b"no spaces; <b>"})
        assert odd.headers["x-request-id"] != "no spaces; <b>"
        nowhere = http.get("/v2/anything")
        assert nowhere.status_code == 404
        assert nowhere.json()["code"] == "not_found"
    tier1 = world.client("tier1")
    with pytest.raises(ApiError) as bad:
        tier1.run(
            v1.Call(
                "POST",
                "/v1/deposits",
                dict,
                {"org": "tier1", "amount": {"amount": 12.5, "currency": "CNY"}},
            )
        )
    assert bad.value.status == 422
    assert bad.value.code == "invalid_request"
    assert bad.value.errors[0]["pointer"] == "/amount/amount"
    with pytest.raises(ApiError) as short:
        tier1.run(v1.withdraw("tier1", v1.money("10.00")))
    assert short.value.code == "insufficient_cash"
    assert "CNY" in short.value.detail


def test_keys_are_refused_alike_when_missing_unknown_malformed_or_revoked(world: World) -> None:
    fake = world.keys["tier1"][:-4] + "AAAA"
    for key in (None, "nonsense", fake, world.keys["revoked"]):
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        answer = httpx.get(f"{world.base}/v1/fragments", headers=headers)
        assert answer.status_code == 401, key
        assert answer.json()["code"] == "unauthorized"


def test_a_read_only_key_reads_and_writes_nothing(world: World) -> None:
    ro = world.client("tier1-ro")
    assert ro.run(v1.fragments()).items == []
    with pytest.raises(ApiError) as refused:
        ro.run(v1.withdraw("tier1", v1.money("1.00")))
    assert refused.value.status == 403


def test_every_post_needs_an_idempotency_key_and_a_retry_is_a_replay(world: World) -> None:
    headers = {"Authorization": f"Bearer {world.keys['ops']}"}
    body = {"org": "bank", "amount": {"amount": "100.00", "currency": "CNY"}}
    with httpx.Client(base_url=world.base, headers=headers) as http:
        missing = http.post("/v1/deposits", json=body)
        assert missing.status_code == 400
        assert missing.json()["code"] == "idempotency_key_required"
        first = http.post("/v1/deposits", json=body, headers={"Idempotency-Key": "wire-1"})
        again = http.post("/v1/deposits", json=body, headers={"Idempotency-Key": "wire-1"})
        assert first.status_code == again.status_code == 201
        assert first.json() == again.json()
        assert again.headers["idempotent-replayed"] == "true"
        assert "idempotent-replayed" not in first.headers
        other = {**body, "amount": {"amount": "999.00", "currency": "CNY"}}
        clash = http.post("/v1/deposits", json=other, headers={"Idempotency-Key": "wire-1"})
        assert clash.status_code == 409
        assert clash.json()["code"] == "idempotency_conflict"
    assert world.client("ops").run(v1.cash("bank")).balance == v1.money("100.00")


class CutAfterSending(httpx.HTTPTransport):
    """The network fails after the server has done the work: the first answer is lost."""

    def __init__(self) -> None:
        super().__init__()
        self.cuts = 1

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = super().handle_request(request)
        if self.cuts and request.method == "POST":
            self.cuts -= 1
            response.read()
            raise httpx.ReadError("connection reset by peer", request=request)
        return response


def test_a_retry_after_a_network_cut_returns_the_same_body_once(world: World) -> None:
    from capillary.client import Client

    with Client(world.base, world.keys["ops"], transport=CutAfterSending()) as ops:
        moved = ops.run(v1.deposit("bank2", v1.money("250.00")))
    assert moved.balance == v1.money("250.00")  # the first request's answer, replayed
    assert world.client("ops").run(v1.cash("bank2")).balance == v1.money("250.00")


@pytest.mark.postgres
def test_concurrent_twins_make_one_effect_on_postgres(pg_world: World) -> None:
    world = pg_world
    headers = {"Authorization": f"Bearer {world.keys['ops']}", "Idempotency-Key": "twin"}
    body = {"org": "tier2", "amount": {"amount": "75.00", "currency": "CNY"}}
    answers: list[httpx.Response] = []
    barrier = threading.Barrier(8)

    def post() -> None:
        with httpx.Client(base_url=world.base, headers=headers) as http:
            barrier.wait()
            answers.append(http.post("/v1/deposits", json=body))

    threads = [threading.Thread(target=post) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert {a.status_code for a in answers} == {201}
    assert len({json.dumps(a.json(), sort_keys=True) for a in answers}) == 1
    assert world.client("ops").run(v1.cash("tier2")).balance == v1.money("75.00")


def test_health_readiness_and_metrics(world: World) -> None:
    with httpx.Client(base_url=world.base) as http:
        assert http.get("/healthz").json() == {"status": "ok"}
        assert http.get("/readyz").json()["status"] == "ready"
        http.get("/v1/clock", headers={"Authorization": f"Bearer {world.keys['core']}"})
        text = http.get("/metrics").text
    assert 'capillary_http_requests_total{method="GET",route="/v1/clock",status="200"}' in text
    assert "capillary_http_request_duration_seconds_bucket" in text
    assert "capillary_certificates_issued_total" in text
    assert "capillary_financings_total" in text
    assert 'capillary_events_waiting{stage="fan_out"}' in text
    assert 'capillary_webhook_deliveries{status="failed"} 0.0' in text


def test_the_async_client_reads_and_writes(world: World) -> None:
    import asyncio

    from capillary.client import AsyncClient

    async def go() -> list[str]:
        async with AsyncClient(world.base, world.keys["ops"]) as ops:
            await ops.run(v1.deposit("tier3", v1.money("12.34")))
            pages = [p async for p in ops.pages(lambda c: v1.organizations(cursor=c, limit=3))]
            balance = await ops.run(v1.cash("tier3"))
            return [balance.balance.amount, *(o.code for p in pages for o in p.items)]

    amount, *codes = asyncio.run(go())
    assert amount == "12.34"
    assert sorted(codes) == sorted(CAST)


def test_pages_walk_a_list_once_and_a_foreign_cursor_is_refused(world: World) -> None:
    ops = world.client("ops")
    for org in ("core", "tier1", "tier2", "tier3", "bank"):
        ops.run(v1.deposit(org, v1.money("1.00")))
    whole = ops.run(v1.accounts(limit=500)).items
    walked = [a.id for page in ops.pages(lambda c: v1.accounts(cursor=c, limit=2))
              for a in page.items]  # fmt: skip
    assert walked == [a.id for a in whole]
    assert len(walked) == len(set(walked)) >= 6
    pairs = [(r.buyer, r.supplier) for page in ops.pages(
        lambda c: v1.Call("GET", "/v1/relationships", v1.Page[v1.P.RelationshipOut],
                          params={"cursor": c, "limit": 1})) for r in page.items]  # fmt: skip
    assert pairs == sorted(pairs) == [("core", "tier1"), ("tier1", "tier2"), ("tier2", "tier3")]
    suppliers = ops.run(v1.organizations(role="supplier")).items
    assert {o.code for o in suppliers} == {"tier1", "tier2", "tier3", "outsider"}
    with pytest.raises(ApiError) as bad:
        ops.run(v1.accounts(cursor="not-ours"))
    assert bad.value.code == "invalid_cursor"
    with pytest.raises(ApiError) as huge:
        ops.run(v1.lineage(2**63))
    assert (huge.value.status, huge.value.errors[0]["pointer"]) == (422, "/path/fragment_id")
    with pytest.raises(ApiError) as too_many:
        ops.run(v1.accounts(limit=501))
    assert too_many.value.status == 422


def test_a_body_beyond_its_limit_is_refused_with_413(world: World) -> None:
    headers = {"Authorization": f"Bearer {world.keys['ops']}", "Idempotency-Key": "big",
               "Content-Type": "application/json"}  # fmt: skip
    big = b'{"org": "bank", "amount": {"amount": "1.00", "currency": "CNY"}, "reference": "'
    big += b"x" * (5 * 1024 * 1024) + b'"}'
    with httpx.Client(base_url=world.base, headers=headers) as http:
        declared = http.post("/v1/deposits", content=big)
        assert declared.status_code == 413
        assert declared.json()["code"] == "payload_too_large"

        def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it arrives
            for start in range(0, len(big), 65536):
                yield big[start : start + 65536]

        streamed = http.post("/v1/deposits", content=chunks())
        assert streamed.status_code == 413
        assert streamed.json()["code"] == "payload_too_large"
        assert http.get("/healthz").status_code == 200  # the server is fine
    assert world.client("ops").run(v1.cash("bank")).balance == v1.money("0.00")
