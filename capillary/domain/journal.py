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

GENESIS = bytes(32)


@dataclass(frozen=True, slots=True)
class JournalLeg:
    leg: int
    account_id: int
    unit: str
    side: str
    amount: int


@dataclass(frozen=True, slots=True)
class JournalEntry:
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
    """The one byte string an entry is hashed as."""
    head = "|".join(
        (
            "v1",
            str(entry.id),
            _text(entry.key),
            entry.kind,
            str(entry.posted_at),
            _text(entry.ref),
            _text(entry.metadata),
            _number(entry.pending_id),
            _number(entry.reverses_id),
            _number(entry.expires_at),
            str(len(entry.legs)),
        )
    )
    legs = "".join(
        f"|{leg.leg},{leg.account_id},{_text(leg.unit)},{leg.side},{leg.amount}"
        for leg in entry.legs
    )
    return (head + legs).encode()


def digest(entry: JournalEntry) -> bytes:
    return hashlib.sha256(canonical(entry)).digest()


def chain_hash(previous: bytes, seq: int, entry_digest: bytes) -> bytes:
    return hashlib.sha256(previous + seq.to_bytes(8, "big") + entry_digest).digest()


@dataclass(frozen=True, slots=True)
class Seal:
    seq: int
    transaction_id: int
    digest: bytes
    chain: bytes


@dataclass(frozen=True, slots=True)
class SealedRow:
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


def verify_chain(
    rows: Iterable[SealedRow],
    *,
    inserted_ids: Iterable[int] = (),
    unsealed: int = 0,
    anchor: tuple[int, bytes] | None = None,
) -> VerifyReport:
    """Check sealed rows given in ``seq`` order; see the module docstring for what is found.

    ``inserted_ids`` are transactions with no seal although a later one is sealed (sealing
    runs in id order, so none can legitimately exist); ``unsealed`` counts the entries
    posted since the last seal, which are reported, not judged.
    """
    report = VerifyReport(unsealed=unsealed)
    findings = report.findings
    expected_seq = 1
    previous_chain = GENESIS
    previous_tx = 0
    mismatched: dict[bytes, tuple[int, int]] = {}  # recomputed digest -> (seq, transaction)
    stored_of: dict[int, tuple[bytes, int]] = {}  # seq -> (stored digest, transaction)
    anchor_seen = anchor is None
    for row in rows:
        seal = row.seal
        report.entries += 1
        if seal.seq != expected_seq:
            for missing in range(expected_seq, seal.seq):
                findings.append(
                    Finding("removed", missing, None, f"Entry seq {missing} is missing.")
                )
            previous_chain = None  # type: ignore[assignment]  # chain link unknowable
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
        if row.entry is None:
            findings.append(
                Finding(
                    "removed",
                    seal.seq,
                    seal.transaction_id,
                    f"Transaction {seal.transaction_id}, sealed as seq {seal.seq}, is gone.",
                )
            )
        else:
            recomputed = digest(row.entry)
            if recomputed != seal.digest or row.entry.id != seal.transaction_id:
                mismatched[recomputed] = (seal.seq, seal.transaction_id)
                stored_of[seal.seq] = (seal.digest, seal.transaction_id)
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
            anchor_seen = True
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
        report.head_seq = seal.seq
        report.head_hash = seal.chain
    # A recomputed digest that another seq was sealed with: the entries were swapped.
    stored_digests = {d: seq for seq, (d, _) in stored_of.items()}
    for recomputed, (seq, tx) in mismatched.items():
        other = stored_digests.get(recomputed)
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
    for tx in inserted_ids:
        findings.append(
            Finding(
                "inserted",
                None,
                tx,
                f"Transaction {tx} lies inside the sealed range but was never sealed: it was "
                "inserted behind the ledger's back.",
            )
        )
    if not anchor_seen:
        findings.append(
            Finding(
                "anchor_mismatch",
                anchor[0] if anchor else None,
                None,
                "The anchored seq is not in the journal: entries were removed.",
            )
        )
    findings.sort(key=lambda f: (f.seq is None, f.seq or 0, f.kind))
    return report
