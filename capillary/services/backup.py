"""Backing the platform up and restoring it (issue 15).

A backup is the operator's act: the journal is sealed first, so that the head recorded in
the manifest covers what was posted until then, and the copy is taken consistently while
the platform runs. A restore is the act of whoever holds the target store's credentials
(like ``capillary db upgrade``: there is no platform yet to name a principal in). It never
touches the target before the copy has proved itself: the copy is restored beside it,
brought to this version's schema, verified against the recorded head, its balances
recomputed and its books reconciled — and only then put in the target's place."""

from __future__ import annotations

import hashlib
import os
import tarfile
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

from sqlalchemy.engine import make_url

from capillary.adapters import audit_journal, migrate
from capillary.adapters import store_copy as copy
from capillary.adapters.database import Database, normalize_url, sqlite_path
from capillary.adapters.reconciliation_queries import load_books
from capillary.domain.access import Act, Principal, authorize
from capillary.domain.backups import MANIFEST, STORES, JournalHead, Manifest, parse_manifest
from capillary.domain.errors import BackupRefused, RestoreTargetInUse, ValidationError
from capillary.domain.reconciliation import reconcile
from capillary.services.ledger import LedgerService

Say = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class Restored:
    manifest: Manifest
    entries: int  # sealed journal entries verified
    accounts: int  # balances recomputed from their postings


def _quiet(_: str) -> None:
    pass


def _kind(url: str) -> str:
    url = normalize_url(url)
    if url.startswith("sqlite"):
        if sqlite_path(url) is None:
            raise ValidationError("An in-memory SQLite store is neither backed up nor restored "
                                  "into: name a file (sqlite:///file.db).")  # fmt: skip
        return "sqlite"
    if url.startswith("postgresql"):
        return "postgresql"
    raise ValidationError(f"Backups are of SQLite and PostgreSQL stores, not {url.split(':')[0]}.")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _sqlite(url: str) -> Path:
    path = sqlite_path(url)
    assert path is not None  # _kind said so
    return path


class BackupService:
    def __init__(self, ledger: LedgerService) -> None:
        self.ledger = ledger
        self.db = ledger.db

    def backup(self, out: Path, *, principal: Principal, say: Say = _quiet) -> Manifest:
        """The store, sealed and copied consistently, into the archive ``out`` (a tar file:
        ``manifest.json`` and the copy)."""
        authorize(principal, Act.OPERATE_LEDGER)
        if out.exists():
            raise ValidationError(f"{out} exists already; a backup never overwrites a file.")
        if not out.parent.is_dir():
            raise ValidationError(f"There is no folder {out.parent} to write the backup in.")
        kind = _kind(self.db.url)
        say("Sealing the journal and the audit trail…")
        self.ledger.seal()
        now = self.ledger.clock.now_us()
        self.db.transaction(lambda conn: audit_journal.seal(conn, now))
        revision = migrate.current_revision(self.db) or ""
        with tempfile.TemporaryDirectory(dir=out.parent, prefix=".capillary-backup-") as work:
            payload = Path(work) / STORES[kind]
            say("Copying the store…")
            if kind == "sqlite":
                copy.sqlite_copy(_sqlite(self.db.url), payload)
                head = copy.sqlite_head(payload)
            else:
                head = copy.pg_dump(self.db.url, payload)
            say("Writing the archive…")
            manifest = Manifest(
                kind, revision, datetime.now(UTC).isoformat(timespec="seconds"),
                payload.name, _sha256(payload), payload.stat().st_size, head,
            )  # fmt: skip
            (Path(work) / MANIFEST).write_text(manifest.to_json())
            partial = Path(work) / "archive.tar"
            with tarfile.open(partial, "w") as tar:
                tar.add(Path(work) / MANIFEST, arcname=MANIFEST)
                tar.add(payload, arcname=payload.name)
            os.replace(partial, out)
        return manifest


def _member(tar: tarfile.TarFile, name: str) -> IO[bytes]:
    try:
        member = tar.getmember(name)
    except KeyError:
        raise BackupRefused(f"The archive holds no {name}: it is not a Capillary backup.") from None
    got = tar.extractfile(member) if member.isfile() else None
    if got is None:
        raise BackupRefused(f"The archive's {name} is not a file: it is not a Capillary backup.")
    return got


def _unpack(archive: Path, into: Path) -> tuple[Manifest, Path]:
    """The manifest and the copy, the copy's hash checked against the manifest's."""
    try:
        with tarfile.open(archive, "r:*") as tar:
            manifest = parse_manifest(_member(tar, MANIFEST).read(1 << 20))
            payload = into / manifest.payload
            digest = hashlib.sha256()
            with _member(tar, manifest.payload) as src, payload.open("wb") as dst:
                while chunk := src.read(1 << 20):
                    digest.update(chunk)
                    dst.write(chunk)
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise BackupRefused(f"{archive} cannot be read as a backup archive: {exc}.") from exc
    if digest.hexdigest() != manifest.sha256:
        raise BackupRefused("The store's copy in the archive is not the one backed up (its "
                            "SHA-256 differs from the manifest's): the backup was damaged or "
                            "changed; nothing was restored.")  # fmt: skip
    return manifest, payload


def _verify(url: str, head: JournalHead) -> tuple[int, int]:
    """The restored copy verified against the recorded head: journal, balances, audit
    trail, reconciliation. Returns (entries, accounts); refuses with what was found."""
    db = Database(url)
    try:
        behind = migrate.current_revision(db)
        if behind not in migrate.revisions():
            raise BackupRefused(f"The backup is of schema revision {behind}, which this version "
                                "of Capillary does not know (it is newer): restore it with "
                                "the version that made it.")  # fmt: skip
        migrate.upgrade(db)
        ledger = LedgerService(db)
        report = ledger.verify(anchor=head.anchor, parallel=False)
        found = [f"{f.kind}: {f.message}" for f in report.findings]
        if report.head_seq != head.seq or report.unsealed != head.unsealed:
            found.append(f"head_differs: the restored journal's head is {report.head_seq} with "
                         f"{report.unsealed} unsealed, the backup recorded {head.seq} with "
                         f"{head.unsealed}.")  # fmt: skip
        mismatches = ledger.check_balances()
        found += [f"balance_mismatch: account {m.account_id}" for m in mismatches]
        audit, _ = db.transaction(audit_journal.verify, readonly=True)
        found += [f"{f.kind}: {f.message}" for f in audit]
        books, currency_of = db.transaction(load_books, readonly=True)
        found += [f"{f.kind}: {f.message}" for f in reconcile(books, currency_of)]
        if found:
            more = f"; and {len(found) - 3} more" if len(found) > 3 else ""
            listed = "; ".join(found[:3]) + more
            raise BackupRefused(f"The backup's books do not verify, so nothing was restored: "
                                f"{listed}.")  # fmt: skip
        accounts = db.transaction(
            lambda c: int(c.exec_driver_sql("SELECT count(*) FROM accounts").scalar_one()),
            readonly=True,
        )
        return report.entries, accounts
    finally:
        db.dispose()


def restore(archive: Path, target: str, *, replace: bool = False, say: Say = _quiet) -> Restored:
    """The backup ``archive`` restored as the store at ``target``, proved first: see the
    module's docstring. An existing store at ``target`` is replaced only with ``replace``."""
    kind, target = _kind(target), normalize_url(target)
    if kind == "sqlite":
        path = _sqlite(target)
        in_use: bool | None = path.exists() and path.stat().st_size > 0
        work_dir = path.parent
    else:
        in_use = copy.pg_state(target)
        work_dir = Path(tempfile.gettempdir())
    if in_use and not replace:
        shown = make_url(target).render_as_string(hide_password=True)
        raise RestoreTargetInUse(f"A store is at {shown} already: restore elsewhere, or "
                                 "pass --replace to replace it once the backup has "
                                 "verified.")  # fmt: skip
    with tempfile.TemporaryDirectory(dir=work_dir, prefix=".capillary-restore-") as work:
        say("Reading the archive…")
        manifest, payload = _unpack(archive, Path(work))
        if manifest.store != kind:
            raise BackupRefused(f"This is a backup of a {manifest.store} store; it restores "
                                f"into a {manifest.store} store, not {kind}.")  # fmt: skip
        say("Restoring beside the target…")
        if kind == "sqlite":
            stage = Path(work) / "restoring.db"
            copy.sqlite_copy(payload, stage)
            stage_url = f"sqlite:///{stage}"
        else:
            stage_url = copy.with_database(target, copy.database_name(target) + "_restoring")
            copy.pg_drop(stage_url)
            copy.pg_create(stage_url)
        try:
            if kind == "postgresql":
                copy.pg_restore(stage_url, payload)
            say(
                "Verifying the journal against the recorded head, balances, audit trail, "
                "reconciliation…"
            )
            entries, accounts = _verify(stage_url, manifest.journal)
        except BaseException:
            if kind == "postgresql":
                copy.pg_drop(stage_url)
            raise
        say("Putting the verified store in place…")
        if kind == "sqlite":
            for suffix in ("-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
            os.replace(stage, path)
        else:
            if in_use is not None:
                copy.pg_drop(target)
            copy.pg_rename(stage_url, copy.database_name(target))
    return Restored(manifest, entries, accounts)
