"""The hash chain and what verification finds, on entries built by hand."""

from capillary.domain.journal import (
    GENESIS,
    JournalEntry,
    JournalLeg,
    SealedRow,
    canonical,
    chain_hash,
    digest,
    seal_entries,
    verify_chain,
)


def entry(tx_id: int, amount: int = 100, key: str | None = None) -> JournalEntry:
    return JournalEntry(
        id=tx_id,
        key=key or f"k{tx_id}",
        kind="posted",
        posted_at=1_000 + tx_id,
        ref=None,
        metadata=None,
        pending_id=None,
        reverses_id=None,
        expires_at=None,
        legs=(JournalLeg(0, 1, "CNY", "D", amount), JournalLeg(1, 2, "CNY", "C", amount)),
    )


def sealed(entries: list[JournalEntry]) -> list[SealedRow]:
    seals = seal_entries(entries, last_seq=0, last_chain=GENESIS)
    return [SealedRow(s, e) for s, e in zip(seals, entries, strict=True)]


def kinds(rows: list[SealedRow], **kw: object) -> list[tuple[str, int | None]]:
    report = verify_chain(rows, **kw)  # type: ignore[arg-type]
    return [(f.kind, f.seq) for f in report.findings]


def test_the_encoding_is_unambiguous() -> None:
    # Without length prefixes these two would encode alike.
    a = entry(1)._replace(key="a|b", ref="c")
    b = entry(1)._replace(key="a", ref="b|c")
    assert canonical(a) != canonical(b)
    assert digest(entry(1)) != digest(entry(1, amount=101))


def test_each_seal_commits_to_the_one_before() -> None:
    rows = sealed([entry(i) for i in range(1, 4)])
    previous = GENESIS
    for row in rows:
        assert row.seal.chain == chain_hash(previous, row.seal.seq, digest(row.entry))  # type: ignore[arg-type]
        previous = row.seal.chain
    # Sealing more continues the chain where it ended.
    more = seal_entries([entry(4)], last_seq=3, last_chain=rows[-1].seal.chain)
    assert more[0].seq == 4
    assert verify_chain([*rows, SealedRow(more[0], entry(4))]).ok


def test_an_intact_chain_verifies() -> None:
    report = verify_chain(sealed([entry(i) for i in range(1, 6)]), unsealed=2)
    assert report.ok
    assert (report.entries, report.head_seq, report.unsealed) == (5, 5, 2)


def test_a_changed_entry_is_named() -> None:
    rows = sealed([entry(i) for i in range(1, 6)])
    rows[2] = SealedRow(rows[2].seal, entry(3, amount=999))
    assert kinds(rows) == [("changed", 3)]


def test_a_removed_seal_or_entry_is_named() -> None:
    rows = sealed([entry(i) for i in range(1, 6)])
    assert kinds(rows[:2] + rows[3:]) == [("removed", 3)]
    rows[1] = SealedRow(rows[1].seal, None)
    assert kinds(rows) == [("removed", 2)]


def test_swapped_entries_are_named_reordered() -> None:
    rows = sealed([entry(i) for i in range(1, 6)])
    # Two seal rows exchange their seq numbers (rows are read back in seq order).
    swapped = [
        rows[0],
        SealedRow(rows[2].seal._replace(seq=2), rows[2].entry),
        SealedRow(rows[1].seal._replace(seq=3), rows[1].entry),
        *rows[3:],
    ]
    found = kinds(swapped)
    assert ("reordered", 3) in found
    assert {kind for kind, _ in found} == {"reordered", "chain_broken"}
    # Swapping the contents under the seals is found as well.
    under = list(rows)
    under[1] = SealedRow(rows[1].seal, rows[2].entry)
    under[2] = SealedRow(rows[2].seal, rows[1].entry)
    assert kinds(under) == [("reordered", 2), ("reordered", 3)]


def test_a_rewritten_seal_breaks_the_chain_there() -> None:
    rows = sealed([entry(i) for i in range(1, 6)])
    rows[3] = SealedRow(rows[3].seal._replace(chain=bytes(32)), rows[3].entry)
    assert ("chain_broken", 4) in kinds(rows)


def test_entries_inside_the_sealed_range_without_a_seal_are_inserted() -> None:
    assert kinds(sealed([entry(1)]), inserted_ids=[7]) == [("inserted", None)]


def test_a_rewritten_history_is_caught_against_an_anchor() -> None:
    original = sealed([entry(i) for i in range(1, 4)])
    anchor = (2, original[1].seal.chain)
    assert verify_chain(original, anchor=anchor).ok
    forged = sealed([entry(1), entry(2, amount=5), entry(3)])  # resealed from scratch
    assert verify_chain(forged).ok  # self-consistent...
    assert kinds(forged, anchor=anchor) == [("anchor_mismatch", 2)]  # ...but not the anchor
    assert kinds(original[:1], anchor=anchor) == [("anchor_mismatch", 2)]
