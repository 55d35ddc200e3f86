"""The tamper-evident journal: canonical encoding, hash chain, verification.

Every posted transaction ("entry") is *sealed* once, in transaction-id order, under an
explicit sequence number ``seq`` (1, 2, 3 …, no gaps):

- ``digest(entry) = SHA-256(canonical(entry))``: the canonical encoding covers every stored
  field of the transaction and every leg (account, unit, side, amount), strings
  length-prefixed so that no two different entries encode alike;
- ``chain(seq) = SHA-256(chain(seq − 1) ‖ seq as 8 bytes ‖ digest)``, with
  ``chain(0) = 32 zero bytes``.

Verification recomputes both from the stored rows and names what it finds:

- ``changed``: the entry at ``seq`` no longer matches its digest;
- ``removed``: a ``seq`` is missing, or its transaction is gone;
- ``inserted``: a transaction inside the sealed range that was never sealed;
- ``reordered``: entries stand in another order than they were sealed in;
- ``chain_broken``: the seal row's own hash was rewritten.

Rewriting the *whole* chain from some point on is only caught against a head published
earlier (an *anchor*: ``seq`` and its chain hash), which :func:`verify_chain` accepts.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import NamedTuple

GENESIS = bytes(32)


class JournalLeg(NamedTuple):
    leg: int
    account_id: int
    unit: str
    side: str
    amount: int


class JournalEntry(NamedTuple):
    """A transaction as the journal hashes it: every stored field, and its legs in order.

    (Named tuples, so that verification can build a million of them from rows cheaply.)"""

    id: int
    key: str
    kind: str
    posted_at: int
    ref: str | None
    metadata: str | None
    pending_id: int | None
    reverses_id: int | None
    expires_at: int | None
    legs: tuple[JournalLeg, ...]


def _text(value: str | None) -> str:
    return "~" if value is None else f"{len(value)}:{value}"


def _number(value: int | None) -> str:
    return "~" if value is None else str(value)


def canonical(entry: JournalEntry) -> bytes:
    """The one byte string an entry is hashed as: its fields and then each leg, joined by
    ``|``, every string length-prefixed, an absent value written ``~``."""
    tx_id, key, kind, posted_at, ref, metadata, pending_id, reverses_id, expires_at, legs = entry
    parts = [
        "v1",
        str(tx_id),
        f"{len(key)}:{key}",
        kind,
        str(posted_at),
        _text(ref),
        _text(metadata),
        _number(pending_id),
        _number(reverses_id),
        _number(expires_at),
        str(len(legs)),
    ]
    parts += [
        f"{leg},{account_id},{len(unit)}:{unit},{side},{amount}"
        for leg, account_id, unit, side, amount in legs
    ]
    return "|".join(parts).encode()


def digest(entry: JournalEntry) -> bytes:
    return hashlib.sha256(canonical(entry)).digest()


def chain_hash(previous: bytes, seq: int, entry_digest: bytes) -> bytes:
    return hashlib.sha256(previous + seq.to_bytes(8, "big") + entry_digest).digest()


class Seal(NamedTuple):
    seq: int
    transaction_id: int
    digest: bytes
    chain: bytes


class SealedRow(NamedTuple):
    """A seal as stored, with the entry it points at (``None`` when that is gone)."""

    seal: Seal
    entry: JournalEntry | None


def seal_entries(
    entries: Iterable[JournalEntry], *, last_seq: int, last_chain: bytes
) -> list[Seal]:
    """Seals for ``entries`` (in id order), continuing a chain that ends at ``last_seq``."""
    seals = []
    seq, previous = last_seq, last_chain
    for entry in entries:
        seq += 1
        d = digest(entry)
        previous = chain_hash(previous, seq, d)
        seals.append(Seal(seq=seq, transaction_id=entry.id, digest=d, chain=previous))
    return seals


@dataclass(frozen=True, slots=True)
class Finding:
    kind: str  # changed | removed | inserted | reordered | chain_broken | anchor_mismatch
    seq: int | None
    transaction_id: int | None
    message: str


@dataclass(slots=True)
class VerifyReport:
    entries: int = 0
    head_seq: int = 0
    head_hash: bytes = GENESIS
    unsealed: int = 0
    findings: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.findings


@dataclass(slots=True)
class ChainScan:
    """What one pass over a run of consecutive seals found. Runs are scanned apart (in
    parallel, for a long journal) and combined by :func:`combine`."""

    entries: int = 0
    last_seq: int = 0
    head_hash: bytes = GENESIS
    anchor_seen: bool = False
    findings: list[Finding] = field(default_factory=list)
    # (seq, transaction id, recomputed digest, stored digest) of entries that do not match
    mismatches: list[tuple[int, int, bytes, bytes]] = field(default_factory=list)


def scan_chain(
    rows: Iterable[SealedRow],
    *,
    previous: Seal | None = None,
    anchor: tuple[int, bytes] | None = None,
) -> ChainScan:
    """Check seals given in ``seq`` order, following on from ``previous`` (the seal before
    the first row; ``None`` at the start of the journal). Each link is checked against the
    stored hash before it, so one tampered entry is reported once, not for ever after."""
    scan = ChainScan()
    findings = scan.findings
    expected_seq = previous.seq + 1 if previous else 1
    previous_chain: bytes | None = previous.chain if previous else GENESIS
    previous_tx = previous.transaction_id if previous else 0
    for row in rows:
        seal = row.seal
        scan.entries += 1
        if seal.seq != expected_seq:
            findings.extend(
                Finding("removed", missing, None, f"Entry seq {missing} is missing.")
                for missing in range(expected_seq, seal.seq)
            )
            previous_chain = None  # the link over a gap cannot be checked
        if seal.transaction_id < previous_tx:
            findings.append(
                Finding(
                    "reordered",
                    seal.seq,
                    seal.transaction_id,
                    f"Entry seq {seal.seq} (transaction {seal.transaction_id}) stands after "
                    f"transaction {previous_tx}, though entries are sealed in id order.",
                )
            )
        entry = row.entry
        if entry is None:
            findings.append(
                Finding(
                    "removed",
                    seal.seq,
                    seal.transaction_id,
                    f"Transaction {seal.transaction_id}, sealed as seq {seal.seq}, is gone.",
                )
            )
        else:
            recomputed = hashlib.sha256(canonical(entry)).digest()
            if recomputed != seal.digest or entry.id != seal.transaction_id:
                scan.mismatches.append((seal.seq, seal.transaction_id, recomputed, seal.digest))
            elif (
                previous_chain is not None
                and chain_hash(previous_chain, seal.seq, seal.digest) != seal.chain
            ):
                findings.append(
                    Finding(
                        "chain_broken",
                        seal.seq,
                        seal.transaction_id,
                        f"The seal of seq {seal.seq} does not follow from seq {seal.seq - 1}: "
                        "a seal was rewritten, inserted or moved.",
                    )
                )
        if anchor is not None and seal.seq == anchor[0]:
            scan.anchor_seen = True
            if seal.chain != anchor[1]:
                findings.append(
                    Finding(
                        "anchor_mismatch",
                        seal.seq,
                        seal.transaction_id,
                        f"The chain hash at seq {seal.seq} differs from the anchor: the chain "
                        "up to there was rewritten.",
                    )
                )
        previous_chain = seal.chain
        previous_tx = max(previous_tx, seal.transaction_id)
        expected_seq = seal.seq + 1
        scan.last_seq = seal.seq
        scan.head_hash = seal.chain
    return scan


def combine(
    scans: Iterable[ChainScan],
    *,
    inserted_ids: Iterable[int] = (),
    unsealed: int = 0,
    anchor: tuple[int, bytes] | None = None,
) -> VerifyReport:
    """One report from the scans of consecutive runs, in order."""
    report = VerifyReport(unsealed=unsealed)
    findings = report.findings
    mismatches: list[tuple[int, int, bytes, bytes]] = []
    anchor_seen = anchor is None
    for scan in scans:
        report.entries += scan.entries
        if scan.entries:
            report.head_seq, report.head_hash = scan.last_seq, scan.head_hash
        findings += scan.findings
        mismatches += scan.mismatches
        anchor_seen = anchor_seen or scan.anchor_seen
    # A recomputed digest that another seq was sealed with: the entries were swapped.
    sealed_as = {stored: seq for seq, _, _, stored in mismatches}
    for seq, tx, recomputed, _ in mismatches:
        other = sealed_as.get(recomputed)
        if other is not None and other != seq:
            findings.append(
                Finding(
                    "reordered",
                    seq,
                    tx,
                    f"Entry seq {seq} holds the content sealed as seq {other}: entries were "
                    "swapped.",
                )
            )
        else:
            findings.append(
                Finding(
                    "changed",
                    seq,
                    tx,
                    f"Entry seq {seq} (transaction {tx}) was changed after it was sealed.",
                )
            )
    findings.extend(
        Finding(
            "inserted",
            None,
            tx,
            f"Transaction {tx} lies inside the sealed range but was never sealed: it was "
            "inserted behind the ledger's back.",
        )
        for tx in inserted_ids
    )
    if not anchor_seen:
        assert anchor is not None
        findings.append(
            Finding(
                "anchor_mismatch",
                anchor[0],
                None,
                "The anchored seq is not in the journal: entries were removed.",
            )
        )
    findings.sort(key=lambda f: (f.seq is None, f.seq or 0, f.kind))
    return report


def verify_chain(
    rows: Iterable[SealedRow],
    *,
    inserted_ids: Iterable[int] = (),
    unsealed: int = 0,
    anchor: tuple[int, bytes] | None = None,
) -> VerifyReport:
    """Check the whole journal in one pass; see the module docstring for what is found.

    ``inserted_ids`` are transactions with no seal although a later one is sealed (sealing
    runs in id order, so none can legitimately exist); ``unsealed`` counts the entries
    posted since the last seal, which are reported, not judged."""
    scan = scan_chain(rows, anchor=anchor)
    return combine([scan], inserted_ids=inserted_ids, unsealed=unsealed, anchor=anchor)
