"""Scanning the hash chain in parallel: each worker process reads one range of seals from
the store and checks it (see :func:`capillary.domain.journal.scan_chain`)."""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor

from sqlalchemy.engine import Connection

from capillary.adapters import journal_repository as journal_repo
from capillary.adapters.database import Database
from capillary.domain.journal import ChainScan, scan_chain

#: Below this many seals one process is quicker than starting others.
PARALLEL_FROM = 150_000


def scan_range(url: str, first: int, last: int, anchor: tuple[int, bytes] | None) -> ChainScan:
    db = Database(url)

    def work(conn: Connection) -> ChainScan:
        previous = journal_repo.seal_at(conn, first - 1) if first > 1 else None
        rows = journal_repo.sealed_rows(conn, first=first, last=last)
        return scan_chain(rows, previous=previous, anchor=anchor)

    try:
        return db.transaction(work, readonly=True)
    finally:
        db.dispose()


def ranges(top: int, parts: int) -> list[tuple[int, int]]:
    """``1..top`` cut into ``parts`` consecutive ranges."""
    size = -(-top // parts)
    return [(lo, min(top, lo + size - 1)) for lo in range(1, top + 1, size)]


def can_fork() -> bool:
    """Workers are forked: a spawned one would re-run the caller's main script."""
    return "fork" in multiprocessing.get_all_start_methods()


def scan_parallel(
    url: str, top: int, anchor: tuple[int, bytes] | None, *, workers: int | None = None
) -> list[ChainScan]:
    workers = workers or os.cpu_count() or 1
    fork = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(
        max_workers=workers, mp_context=fork, initializer=Database.forget_inherited_connections
    ) as pool:
        futures = [pool.submit(scan_range, url, lo, hi, anchor) for lo, hi in ranges(top, workers)]
        return [f.result() for f in futures]
