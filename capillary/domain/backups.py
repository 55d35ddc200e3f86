"""What a backup says about itself: its manifest.

A backup is one archive: the store's copy (a SQLite file made with the online backup API,
or a ``pg_dump`` custom-format dump) and ``manifest.json``, which names the store's kind,
its schema revision, the copy's SHA-256, and the journal's head when the copy was taken —
the last sealed entry's sequence number and chain hash, and how many entries were posted
but not yet sealed. A restore checks the copy against the hash, then verifies the restored
journal *against that head* (an anchor: a journal cut short, or one whose history was
rewritten and resealed, does not reach it), then recomputes balances and reconciles."""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from typing import Any

from capillary.domain.errors import BackupRefused

FORMAT = "capillary-backup/1"
MANIFEST = "manifest.json"
STORES = {"sqlite": "store.sqlite3", "postgresql": "store.pgdump"}
_HEX64 = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True, slots=True)
class JournalHead:
    seq: int  # the last sealed entry's sequence number (0: nothing sealed yet)
    chain: str  # its chain hash, hex (64 zeros when nothing is sealed)
    unsealed: int  # entries posted after it, in the copy but not yet in the chain

    @property
    def anchor(self) -> tuple[int, bytes] | None:
        return (self.seq, bytes.fromhex(self.chain)) if self.seq else None


@dataclass(frozen=True, slots=True)
class Manifest:
    store: str  # "sqlite" or "postgresql"
    schema_revision: str
    taken_at: str  # ISO 8601, UTC
    payload: str  # the copy's name inside the archive
    sha256: str  # of the copy, hex
    size: int  # of the copy, bytes
    journal: JournalHead
    format: str = FORMAT

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True) + "\n"


def _field(data: dict[str, Any], name: str, kind: type) -> Any:
    value = data.get(name)
    if not isinstance(value, kind) or isinstance(value, bool):
        raise BackupRefused(f"The backup's manifest has no valid {name!r}: it was not made "
                            "by `capillary backup`, or it was changed since.")  # fmt: skip
    return value


def parse_manifest(text: bytes) -> Manifest:
    """The manifest of an archive, refused by name if it is not one of ours."""
    try:
        data = json.loads(text)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BackupRefused("The backup's manifest is not JSON: this is not a Capillary "
                            "backup, or it is damaged.") from exc  # fmt: skip
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise BackupRefused(f"This is not a Capillary backup this version reads (its manifest "
                            f"does not say format {FORMAT!r}).")  # fmt: skip
    journal = _field(data, "journal", dict)
    store = _field(data, "store", str)
    head = JournalHead(_field(journal, "seq", int), _field(journal, "chain", str),
                       _field(journal, "unsealed", int))  # fmt: skip
    manifest = Manifest(
        store, _field(data, "schema_revision", str), _field(data, "taken_at", str),
        _field(data, "payload", str), _field(data, "sha256", str), _field(data, "size", int),
        head,
    )  # fmt: skip
    if (store not in STORES or manifest.payload != STORES[store] or head.seq < 0
            or head.unsealed < 0 or not _HEX64.fullmatch(head.chain)
            or not _HEX64.fullmatch(manifest.sha256)):  # fmt: skip
        raise BackupRefused("The backup's manifest does not hold together (store, copy, "
                            "hashes): it was not made by `capillary backup`, or it was "
                            "changed since.")  # fmt: skip
    return manifest
