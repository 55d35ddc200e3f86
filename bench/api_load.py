"""The load process of ``bench/api.py``: drives a running API from its own process on
loopback, ``concurrency`` clients at once, bounded in count and in time, and prints what it
measured as one JSON line (requests/s, p50 and p99 in ms, statuses).

    python bench/api_load.py BASE KEY OP CONCURRENCY COUNT SECONDS [IDS...]

OP is ``balance``, ``certificates``, ``transfer`` (IDS: fragments to pass on, one per
request) or ``finance`` (IDS: offers to accept)."""

from __future__ import annotations

import asyncio
import json
import sys
import time
import uuid
from collections import Counter

import httpx


def request(op: str, item: str | None) -> tuple[str, str, dict[str, object] | None]:
    if op == "balance":
        return "GET", "/v1/cash/tier1/CNY", None
    if op == "certificates":
        return "GET", "/v1/certificates?limit=100", None
    if op == "transfer":
        body = {"recipient": "tier2", "amount": {"amount": "1000.00", "currency": "CNY"},
                "reference": "contract:bench"}  # fmt: skip
        return "POST", f"/v1/fragments/{item}/transfers", body
    if op == "finance":
        return "POST", f"/v1/financing-offers/{item}/accept", None
    raise SystemExit(f"unknown operation {op!r}")


async def main(base: str, key: str, op: str, concurrency: int, count: int, seconds: float,
               ids: list[str]) -> None:  # fmt: skip
    items: list[str | None] = list(ids) if ids else [None] * count
    items = items[:count]
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    queue: asyncio.Queue[str | None] = asyncio.Queue()
    for item in items:
        queue.put_nowait(item)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    headers = {"Authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(base_url=base, headers=headers, limits=limits,
                                 timeout=60) as client:  # fmt: skip
        deadline = time.perf_counter() + seconds

        async def worker() -> None:
            while time.perf_counter() < deadline:
                try:
                    item = queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                method, path, body = request(op, item)
                extra = {"Idempotency-Key": f"load-{uuid.uuid4()}"} if method == "POST" else {}
                started = time.perf_counter()
                answer = await client.request(method, path, json=body, headers=extra)
                latencies.append(time.perf_counter() - started)
                statuses[answer.status_code] += 1

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - start
    latencies.sort()

    def pct(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000

    print(json.dumps({
        "op": op, "concurrency": concurrency, "requests": len(latencies),
        "per_s": len(latencies) / elapsed if elapsed else 0.0,
        "p50_ms": pct(0.50) if latencies else None, "p99_ms": pct(0.99) if latencies else None,
        "statuses": dict(statuses),
    }))  # fmt: skip


if __name__ == "__main__":
    base, key, op, c, n, s, *rest = sys.argv[1:]
    asyncio.run(main(base, key, op, int(c), int(n), float(s), rest))
