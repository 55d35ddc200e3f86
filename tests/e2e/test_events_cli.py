"""Webhooks, events and the worker from the command line, as an operator and an
organization's admin run them."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from pathlib import Path

import pytest

from tests.e2e.test_cli import CAPILLARY, run
from tests.support.receiver import Receiver, wait_until

DATA = Path(__file__).resolve().parents[1] / "data" / "supply_chain"


def test_an_endpoint_its_events_and_a_worker_from_the_command_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = f"sqlite:///{tmp_path / 'events.db'}"

    def cli(who: str, *args: str, ok: bool = True) -> str:
        done = run("--as", f"{who}:cli", *args, cwd=tmp_path, db=db, ok=ok)
        assert "Traceback" not in done.stdout + done.stderr
        return " ".join((done.stdout + done.stderr).split())

    run("platform", "init", "ops", "--name", "Platform Operator", "--id", "91310115MA1K4LQP0J",
        "--sandbox", "--start", "2026-11-02", cwd=tmp_path, db=db)  # fmt: skip
    cli("ops", "org", "import", "organizations", str(DATA / "organizations.csv"))
    bank = "merchants-bank"
    receiver = Receiver().start()
    try:
        url = receiver.url("/bank")
        # A production platform sends to the public internet only.
        refused = cli(bank, "webhook", "add", url, ok=False)
        assert "error invalid_webhook" in refused
        assert "private" in refused
        assert "error invalid_webhook" in cli(bank, "webhook", "add", "https://x.example/h",
                                              "--types", "certificate.sent", ok=False)  # fmt: skip
        monkeypatch.setenv("CAPILLARY_WEBHOOK_ALLOW_PRIVATE", "true")
        out = cli(bank, "webhook", "add", url, "--types", "credit_line.granted")
        assert "Endpoint 1 of merchants-bank" in out
        secret = out.split("not shown again): ")[1].split()[0]
        receiver.secrets["/bank"] = secret
        assert url in cli(bank, "webhook", "list")
        assert "error" in cli("huaxin-auto", "webhook", "disable", "1", ok=False)

        cli(bank, "credit", "grant", "huaxin-auto", "--amount", "500,000",
            "--expires", "2027-12-31")  # fmt: skip
        lines = run("--as", f"{bank}:cli", "events", "--json", cwd=tmp_path, db=db).stdout
        (event,) = [json.loads(line) for line in lines.splitlines()]
        assert event["type"] == "credit_line.granted"
        assert event["organizations"] == ["huaxin-auto", "merchants-bank"]
        assert "credit_line.granted" in cli("huaxin-auto", "events")
        assert "credit_line" not in cli("precision-parts", "events")

        worker = subprocess.Popen(
            [CAPILLARY, "worker", "--no-jobs"], cwd=tmp_path,
            env={**os.environ, "CAPILLARY_DATABASE_URL": db}, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        try:
            wait_until(lambda: receiver.events("/bank"), what="the delivery")
        finally:
            worker.send_signal(signal.SIGINT)
            out_, err = worker.communicate(timeout=30)
        assert worker.returncode == 0, err
        assert "Capillary worker on" in out_
        assert receiver.events("/bank")[0]["id"] == event["id"]
        assert all(r.signed for r in receiver.received)
        log = cli(bank, "webhook", "deliveries", "1")
        assert "credit_line.granted │ delivered │ 1 │ 200" in log
        assert "0 failed deliveries due again" in cli(bank, "webhook", "replay", "1")
        assert "Endpoint 1 of merchants-bank is disabled" in cli(bank, "webhook", "disable", "1")
    finally:
        receiver.stop()
