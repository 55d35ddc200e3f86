"""Backup and restore (issue 15) on SQLite and PostgreSQL: a demo economy backed up while it
runs on, restored beside it, verifies against the recorded journal head and has the
balances it had when backed up; a damaged or tampered backup is refused and the target is
left as it was; a store in the way is replaced only when asked."""

from __future__ import annotations

import hashlib
import io
import json
import sqlite3
import tarfile
import uuid
from collections.abc import Iterator
from contextlib import closing
from datetime import date
from pathlib import Path

import psycopg
import pytest

from capillary.adapters import store_copy
from capillary.adapters.database import Database
from capillary.domain.access import Principal
from capillary.domain.errors import BackupRefused, Forbidden, RestoreTargetInUse
from capillary.domain.parties import Role
from capillary.services.backup import BackupService, restore
from capillary.services.ledger import LedgerService
from capillary.simulation.demo import run_demo

OPS = Principal("capillary-ops", "ops:test", frozenset({Role.OPERATOR}))
BALANCES = "SELECT id, org, code, unit, debits_posted, credits_posted FROM accounts ORDER BY id"


def _balances(url: str) -> list[tuple[object, ...]]:
    db = Database(url)
    try:
        with db.engine.connect() as conn:
            return [tuple(r) for r in conn.exec_driver_sql(BALANCES)]
    finally:
        db.dispose()


@pytest.fixture
def target(store_url: str, tmp_path: Path) -> Iterator[str]:
    """Where a restore goes: a file beside the store, or a database that does not exist yet."""
    if store_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'restored.db'}"
        return
    url = store_copy.with_database(store_url, f"capillary_restored_{uuid.uuid4().hex[:8]}")
    yield url
    store_copy.pg_drop(url)


def _repack(archive: Path, out: Path, change_copy: object) -> None:
    """``archive`` with its copy changed by ``change_copy(path)`` and the manifest's hash
    made to match: what someone who knows the format could forge."""
    work = out.parent / f"forge-{uuid.uuid4().hex[:6]}"
    work.mkdir()
    with tarfile.open(archive) as tar:
        tar.extractall(work, filter="data")
    manifest = json.loads((work / "manifest.json").read_text())
    payload = work / manifest["payload"]
    change_copy(payload)  # type: ignore[operator]
    manifest["sha256"] = hashlib.sha256(payload.read_bytes()).hexdigest()
    manifest["size"] = payload.stat().st_size
    with tarfile.open(out, "w") as tar:
        data = json.dumps(manifest).encode()
        info = tarfile.TarInfo("manifest.json")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
        tar.add(payload, arcname=payload.name)


def _raise_a_posting(path: Path) -> None:
    """As an attacker holding the copy: one posted amount changed, its balance with it."""
    with closing(sqlite3.connect(path)) as conn, conn:  # closed: the WAL folded into the file
        for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'"):
            conn.execute(f"DROP TRIGGER {name}")
        tx, leg, account, side = conn.execute(
            "SELECT transaction_id, leg, account_id, side FROM postings ORDER BY transaction_id "
            "LIMIT 1 OFFSET 20"
        ).fetchone()
        conn.execute("UPDATE postings SET amount = amount + 100 WHERE transaction_id = ? "
                     "AND leg = ?", [tx, leg])  # fmt: skip
        column = "debits_posted" if side == "D" else "credits_posted"
        conn.execute(f"UPDATE accounts SET {column} = {column} + 100 WHERE id = ?", [account])


def test_backup_restore_round_trip_and_refusals(
    store_url: str, target: str, tmp_path: Path
) -> None:
    done = run_demo(store_url, orgs=40, days=40, seed=5, start=date(2026, 1, 5))
    p = done.platform
    archive = tmp_path / "backup.tar"
    try:
        with pytest.raises(Forbidden):
            p.backups.backup(archive, principal=Principal("t1-auto-0001", "u", frozenset()))
        made = p.backups.backup(archive, principal=OPS)
        at_backup = _balances(store_url)
        # The platform goes on after the backup: the restore brings back the backup's state.
        org = next(str(a[1]) for a in at_backup if a[2] == "cash" and a[3] == "CNY")
        p.cash.deposit(principal=OPS, org=org, cur="CNY", amount=123_45, key="after-backup")
        assert _balances(store_url) != at_backup
    finally:
        p.ledger.db.dispose()
    assert made.journal.seq > 0
    assert made.journal.unsealed == 0

    restored = restore(archive, target)
    assert restored.entries == made.journal.seq
    assert restored.accounts == len(at_backup)
    assert _balances(target) == at_backup

    with pytest.raises(RestoreTargetInUse):  # a store is there now
        restore(archive, target)
    assert restore(archive, target, replace=True).entries == made.journal.seq

    # Damaged: one byte of the copy flipped, the manifest left alone.
    damaged = tmp_path / "damaged.tar"
    with tarfile.open(archive) as tar:
        member = tar.getmember(made.payload)
    raw = bytearray(archive.read_bytes())
    raw[member.offset_data + member.size // 2] ^= 0xFF
    damaged.write_bytes(bytes(raw))
    fresh = target + "_x" if not store_url.startswith("sqlite") else f"sqlite:///{tmp_path}/x.db"
    with pytest.raises(BackupRefused, match="SHA-256 differs"):
        restore(damaged, fresh)

    # Not a backup at all.
    junk = tmp_path / "junk.tar"
    junk.write_bytes(b"not a tar file" * 100)
    with pytest.raises(BackupRefused, match="cannot be read"):
        restore(junk, fresh)


def test_a_backup_whose_chain_does_not_verify_is_refused(
    store_url: str, target: str, tmp_path: Path
) -> None:
    done = run_demo(store_url, orgs=30, days=20, seed=5, start=date(2026, 1, 5))
    p = done.platform
    archive = tmp_path / "backup.tar"
    try:
        p.backups.backup(archive, principal=OPS)
    finally:
        p.ledger.db.dispose()
    if store_url.startswith("sqlite"):
        forged = tmp_path / "forged.tar"
        _repack(archive, forged, _raise_a_posting)
        with pytest.raises(BackupRefused, match=r"do not verify.*changed"):
            restore(forged, target)
        assert not Path(target.removeprefix("sqlite:///")).exists()
        return
    # PostgreSQL: the store tampered with behind the ledger's back, then backed up.
    with psycopg.connect(store_copy.libpq(store_url), autocommit=True) as conn:
        conn.execute("SET session_replication_role = replica")
        changed = conn.execute(
            "UPDATE postings SET amount = amount + 100 WHERE (transaction_id, leg) = "
            "(SELECT transaction_id, leg FROM postings ORDER BY transaction_id LIMIT 1 OFFSET 20)"
        )
        assert changed.rowcount == 1
    tampered = tmp_path / "tampered.tar"
    db = Database(store_url)
    try:
        BackupService(LedgerService(db)).backup(tampered, principal=OPS)
    finally:
        db.dispose()
    with pytest.raises(BackupRefused, match="do not verify"):
        restore(tampered, target)
    assert store_copy.pg_state(target) is None  # never created; the staging copy dropped
    assert store_copy.pg_state(target + "_restoring") is None
