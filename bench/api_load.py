"""The load process of ``bench/api.py``: drives a running API from its own process on
loopback, ``concurrency`` clients at once (each its own keep-alive connection), bounded in
count and in time, and prints what it measured as one JSON line (requests/s, p50 and p99 in
ms, statuses).

    python bench/api_load.py PORT KEY OP CONCURRENCY COUNT SECONDS [IDS...]

OP is ``balance``, ``certificates``, ``transfer`` (IDS: fragments to pass on, one per
request) or ``finance`` (IDS: offers to accept). The client speaks HTTP/1.1 on asyncio
streams itself: a general client (httpx) spends more CPU per request than the server
under test, on a machine whose two cores both of them share."""

from __future__ import annotations

import asyncio
import json
import sys
import time
import uuid
from collections import Counter

TRANSFER = json.dumps({"recipient": "tier2", "amount": {"amount": "1000.00", "currency": "CNY"},
                       "reference": "contract:bench"}).encode()  # fmt: skip


def request(op: str, item: str | None, key: str) -> bytes:
    head = f"Host: 127.0.0.1\r\nAuthorization: Bearer {key}\r\n"
    if op == "balance":
        return f"GET /v1/cash/tier1/CNY HTTP/1.1\r\n{head}\r\n".encode()
    if op == "certificates":
        return f"GET /v1/certificates?limit=100 HTTP/1.1\r\n{head}\r\n".encode()
    idem = f"Idempotency-Key: load-{uuid.uuid4()}\r\n"
    if op == "transfer":
        return (f"POST /v1/fragments/{item}/transfers HTTP/1.1\r\n{head}{idem}"
                f"Content-Type: application/json\r\nContent-Length: {len(TRANSFER)}\r\n\r\n"
                ).encode() + TRANSFER  # fmt: skip
    if op == "finance":
        return (f"POST /v1/financing-offers/{item}/accept HTTP/1.1\r\n{head}{idem}"
                "Content-Length: 0\r\n\r\n").encode()  # fmt: skip
    raise SystemExit(f"unknown operation {op!r}")


async def exchange(reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                   payload: bytes) -> int:  # fmt: skip
    """Send one request and read its whole answer; its status."""
    writer.write(payload)
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split()[1])
    length = 0
    for line in lines[1:]:
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    if length:
        await reader.readexactly(length)
    return status


async def main(port: int, key: str, op: str, concurrency: int, count: int, seconds: float,
               ids: list[str]) -> None:  # fmt: skip
    items: list[str | None] = list(ids)[:count] if ids else [None] * count
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    queue: asyncio.Queue[str | None] = asyncio.Queue()
    for item in items:
        queue.put_nowait(item)
    deadline = time.perf_counter() + seconds

    async def client() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while time.perf_counter() < deadline:
                try:
                    item = queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                payload = request(op, item, key)
                started = time.perf_counter()
                statuses[await exchange(reader, writer, payload)] += 1
                latencies.append(time.perf_counter() - started)
        finally:
            writer.close()

    start = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(concurrency)))
    elapsed = time.perf_counter() - start
    latencies.sort()

    def pct(p: float) -> float | None:
        if not latencies:
            return None
        return latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000

    print(json.dumps({
        "op": op, "concurrency": concurrency, "requests": len(latencies),
        "per_s": len(latencies) / elapsed if elapsed else 0.0,
        "p50_ms": pct(0.50), "p99_ms": pct(0.99), "statuses": dict(statuses),
    }))  # fmt: skip


if __name__ == "__main__":
    port, key, op, c, n, s, *rest = sys.argv[1:]
    asyncio.run(main(int(port), key, op, int(c), int(n), float(s), rest))
