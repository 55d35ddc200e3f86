"""A real webhook receiver on a loopback port, as an ERP would write one: it verifies every
signature, processes each event once by id (a repeat is acknowledged and ignored), and can
be told to be slow or to fail."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from capillary.domain.webhooks import SIGNATURE_HEADER, verify


@dataclass
class Received:
    event: dict[str, Any]
    path: str
    signed: bool
    at: float  # wall time, seconds


@dataclass
class Receiver:
    """Endpoints are paths (``/tier1``); each has its secret once registered."""

    secrets: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds before answering
    delays: dict[str, float] = field(default_factory=dict)  # per path, over ``delay``
    fail_first: int = 0  # answer 500 to the first this many attempts of each event id
    always_fail: bool = False
    received: list[Received] = field(default_factory=list)  # every request, repeats too
    processed: dict[str, list[str]] = field(default_factory=dict)  # path → event ids, once each
    attempts: Counter[tuple[str, str]] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                status = receiver.handle(self.path, body, self.headers.get(SIGNATURE_HEADER, ""))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *_: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def handle(self, path: str, body: bytes, header: str) -> int:
        pause = self.delays.get(path, self.delay)
        if pause:
            time.sleep(pause)
        secret = self.secrets.get(path, "")
        signed = bool(secret) and verify(secret, header, body, int(time.time()))
        event = json.loads(body)
        with self.lock:
            self.received.append(Received(event, path, signed, time.time()))
            self.attempts[(path, event["id"])] += 1
            if not signed:
                return 401
            if self.always_fail or self.attempts[(path, event["id"])] <= self.fail_first:
                return 500
            seen = self.processed.setdefault(path, [])
            if event["id"] not in seen:  # processed exactly once by id
                seen.append(event["id"])
        return 200

    def events(self, path: str) -> list[dict[str, Any]]:
        """The distinct events ``path`` processed, in the order it processed them."""
        with self.lock:
            ids = list(self.processed.get(path, []))
            by_id = {r.event["id"]: r.event for r in self.received if r.path == path}
        return [by_id[i] for i in ids]


def wait_until(check: Any, timeout: float = 30.0, what: str = "it") -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)
