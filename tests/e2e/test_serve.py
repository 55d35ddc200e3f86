"""``capillary serve`` as an operator runs it: a real process on a loopback port, on SQLite
and on PostgreSQL by URL, with keys made by ``capillary key``."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from capillary.domain.access import UserRole
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


def test_serve_with_worker_relays_events_to_a_webhook(tmp_path: Path) -> None:
    """``capillary serve --with-worker``: one command serves the API and relays its events;
    stopping it stops both."""
    from tests.support.receiver import Receiver, wait_until

    url = f"sqlite:///{tmp_path / 'served.db'}"
    services, keys = seed(url)
    receiver = Receiver().start()
    try:
        services.webhooks.allow_private = True  # a sandbox on this machine
        admin = services.parties.principal("bank", "admin", user_role=UserRole.ADMIN)
        made = services.webhooks.register(principal=admin, url=receiver.url("/bank"),
                                          types=["credit_line.granted"], key="wh")  # fmt: skip
        assert made.secret is not None
        receiver.secrets["/bank"] = made.secret
        services.ledger.db.dispose()
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        os.environ["CAPILLARY_WEBHOOK_ALLOW_PRIVATE"] = "true"
        try:
            process = _serve(url, port, "--with-worker")
        finally:
            del os.environ["CAPILLARY_WEBHOOK_ALLOW_PRIVATE"]
        try:
            _ready(base, process)
            granted = httpx.post(
                f"{base}/v1/credit-lines",
                headers={"Authorization": f"Bearer {keys['bank']}", "Idempotency-Key": "g1"},
                json={"funder": "bank", "obligor": "core", "expires_on": "2027-12-31",
                      "limit": {"amount": "500000.00", "currency": "CNY"}},
            )  # fmt: skip
            assert granted.status_code == 200, granted.text
            wait_until(lambda: receiver.events("/bank"), what="the webhook")
        finally:
            _stop(process)
        (event,) = receiver.events("/bank")
        assert event["type"] == "credit_line.granted"
        assert all(r.signed for r in receiver.received)
        # The worker went with the server.
        left = subprocess.run(["pgrep", "-f", "--", "-m capillary worker"], capture_output=True)
        assert left.returncode == 1, left.stdout
    finally:
        receiver.stop()


def test_a_taken_port_is_refused_before_any_work(tmp_path: Path) -> None:
    """``serve`` and ``demo`` name the taken port and exit 1 at once: the demo does not
    simulate a year first and then fail to listen."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        for args in (["serve", "--port", port], ["demo", "--orgs", "20", "--port", port]):
            done = run(*args, cwd=tmp_path, db=f"sqlite:///{tmp_path / 'x.db'}", ok=False)
            assert done.returncode == 1, done.stdout + done.stderr
            assert f"127.0.0.1:{port} cannot be served on" in " ".join(done.stderr.split())
            assert "Traceback" not in done.stdout + done.stderr
    assert not (tmp_path / "x.db").exists()  # nothing was simulated
