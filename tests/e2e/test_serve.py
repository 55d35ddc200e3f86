"""``capillary serve`` as an operator runs it: a real process on a loopback port, on SQLite
and on PostgreSQL by URL, with keys made by ``capillary key``."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from tests.api.conftest import free_port, seed
from tests.e2e.test_cli import CAPILLARY, run


def _serve(url: str, port: int, *extra: str) -> subprocess.Popen[str]:
    env = {**os.environ, "CAPILLARY_DATABASE_URL": url}
    return subprocess.Popen([CAPILLARY, "serve", "--port", str(port), *extra], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip


def _ready(base: str, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()
        try:
            if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise AssertionError("capillary serve did not become ready")


def _stop(process: subprocess.Popen[str]) -> str:
    process.send_signal(signal.SIGINT)
    out, _ = process.communicate(timeout=30)
    return out


@pytest.mark.slow
def test_serve_answers_with_keys_made_by_the_cli(store_url: str, tmp_path: Path) -> None:
    services, _ = seed(store_url)
    services.ledger.db.dispose()
    made = run("key", "create", "bank", "--name", "treasury system", "--scopes", "read",
               cwd=tmp_path, db=store_url, who="ops:li.wei").stdout  # fmt: skip
    token = re.search(r"cap_[a-z2-7]{12}_[A-Za-z0-9_-]{43}", made)
    assert token is not None, made
    listed = run("key", "list", "--org", "bank", cwd=tmp_path, db=store_url, who="ops").stdout
    assert "treasury system" in listed
    secret = token.group(0)[len("cap_") + 13 :]  # cap_<12-char id>_<secret>
    assert secret not in listed  # the secret is shown once only
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    process = _serve(store_url, port, "--workers", "2")
    try:
        _ready(base, process)
        auth = {"Authorization": f"Bearer {token.group(0)}", "X-Request-ID": "ops-check-1"}
        clock = httpx.get(f"{base}/v1/clock", headers=auth)
        assert clock.status_code == 200
        assert clock.json()["kind"] == "sandbox"
        assert clock.headers["x-request-id"] == "ops-check-1"
        refused = httpx.post(f"{base}/v1/withdrawals", headers={**auth, "Idempotency-Key": "w"},
                             json={"org": "bank", "amount": {"amount": "1.00",
                                                             "currency": "CNY"}})  # fmt: skip
        assert refused.status_code == 403  # a read-only key
        assert httpx.get(f"{base}/docs").status_code == 200
        for _ in range(20):  # spread over both workers
            assert httpx.get(f"{base}/v1/clock", headers=auth).status_code == 200
        metrics = httpx.get(f"{base}/metrics").text
        counted = re.search(
            r'capillary_http_requests_total\{method="GET",route="/v1/clock",status="200"\} (\S+)',
            metrics,
        )
        assert counted is not None, metrics[:2000]
        assert float(counted.group(1)) >= 21  # every worker's, not the scraped one's alone
        key_id = token.group(0).split("_")[1]
        run("key", "revoke", key_id, cwd=tmp_path, db=store_url, who="ops")
        assert httpx.get(f"{base}/v1/clock", headers=auth).status_code == 401
    finally:
        out = _stop(process)
    lines = [json.loads(ln) for ln in out.splitlines() if ln.startswith("{")]
    mine = [ln for ln in lines if ln.get("request_id") == "ops-check-1"]
    assert mine, out[-2000:]
    assert mine[0]["route"] == "/v1/clock"
    assert mine[0]["key"] == f"cap_{key_id}"
    assert token.group(0) not in out  # a log never holds a secret


def test_serve_refuses_a_store_without_the_schema(tmp_path: Path) -> None:
    done = run("serve", "--port", str(free_port()), cwd=tmp_path,
               db=f"sqlite:///{tmp_path / 'none.db'}", ok=False)  # fmt: skip
    assert done.returncode != 0
    assert done.stderr.startswith("error schema_behind:"), done.stderr
