"""Ledger use cases that post: a transaction, a hold and its resolution, a batch, a
reversal, the expiry of holds. Each public method is one unit of work; within a caller's
unit of work, the ``*_in`` methods."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, NamedTuple

from sqlalchemy.engine import Connection

from capillary.adapters import account_repository as account_repo
from capillary.adapters import ledger_repository as repo
from capillary.domain.errors import (
    AlreadyReversed,
    BatchRejected,
    CapillaryError,
    IdempotencyConflict,
    ItemError,
    NotReversible,
    PendingAlreadyResolved,
    PendingExpired,
    PendingNotFound,
    TransactionNotFound,
)
from capillary.domain.ledger import (
    POSTING_KINDS,
    SIDE_CODE,
    BalanceBook,
    Leg,
    Transaction,
    TransactionKind,
    TransactionRequest,
    canonical_metadata,
    check_key,
    check_leg_shape,
    check_timeout,
    make_request,
    partial_post_legs,
    reversal_legs,
    same_request,
)
from capillary.services.ledger_core import LedgerCore


@dataclass(frozen=True, slots=True)
class BatchResult:
    """Per item of a batch: the transaction id (``None`` where refused); which items were
    replays of earlier requests; and the refusals."""

    ids: tuple[int | None, ...]
    replayed: frozenset[int]
    errors: tuple[ItemError, ...]
    posted_at: int = 0  # when the batch was posted (µs since the epoch)

    @property
    def posted(self) -> int:
        return sum(1 for i, tx in enumerate(self.ids) if tx is not None and i not in self.replayed)


class _Write(NamedTuple):
    """One transaction about to be written."""

    key: str
    kind: str  # a TransactionKind's value
    legs: tuple[Leg, ...]
    ref: str | None = None
    metadata: str | None = None
    pending_id: int | None = None
    reverses_id: int | None = None
    expires_at: int | None = None


_PENDING = TransactionKind.PENDING.value
_POSTED = TransactionKind.POSTED.value


class _Rows:
    """Transaction and posting rows on their way to one bulk insert."""

    __slots__ = ("postings", "rows", "units")

    def __init__(self, book: BalanceBook) -> None:
        self.units = {account_id: state.unit for account_id, state in book.accounts.items()}
        self.rows: list[tuple[Any, ...]] = []
        self.postings: list[tuple[Any, ...]] = []

    def add(self, tx_id: int, w: _Write, now: int) -> None:
        legs = w.legs
        self.rows.append(
            (tx_id, w.key, w.kind, now, w.ref, w.metadata, w.pending_id, w.reverses_id,
             w.expires_at, len(legs))
        )  # fmt: skip
        units = self.units
        append = self.postings.append
        for n, (account_id, side, amount) in enumerate(legs):
            append((tx_id, n, account_id, units[account_id], SIDE_CODE[side], amount))

    def write(self, conn: Connection, book: BalanceBook) -> None:
        """Insert the rows and the balance changes ``book`` made for them."""
        repo.write_batch(conn, self.rows, self.postings, book.deltas())


def _insert(conn: Connection, writes: Sequence[_Write], now: int, book: BalanceBook) -> list[int]:
    """Write ``writes`` and the balance changes ``book`` made for them; returns their ids."""
    ids = repo.next_transaction_ids(conn, len(writes))
    rows = _Rows(book)
    for tx_id, w in zip(ids, writes, strict=True):
        rows.add(tx_id, w, now)
    rows.write(conn, book)
    return ids


class LedgerPostings(LedgerCore):
    """Postings: single, held, batched, resolved, reversed."""

    # ------------------------------------------------------------ posting

    def post(
        self,
        *,
        key: str,
        legs: Iterable[Leg],
        ref: str | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> Transaction:
        """Post one transaction (or return it again, if ``key`` was posted before)."""
        request = make_request(key=key, legs=legs, ref=ref, metadata=metadata)
        return self._one(request)

    def hold(
        self,
        *,
        key: str,
        legs: Iterable[Leg],
        timeout_seconds: int | None = None,
        ref: str | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> Transaction:
        """Reserve amounts (a pending transaction) until posted, voided or expired."""
        request = make_request(
            key=key,
            legs=legs,
            pending=True,
            timeout_seconds=timeout_seconds,
            ref=ref,
            metadata=metadata,
        )
        return self._one(request)

    def _one(self, request: TransactionRequest) -> Transaction:
        result = self.submit([request], atomic=False)
        if result.errors:
            raise result.errors[0].error
        tx_id = result.ids[0]
        assert tx_id is not None
        if result.replayed:
            return replace(self.transaction(tx_id), replayed=True)
        expires_at = (
            None
            if request.timeout_seconds is None
            else result.posted_at + request.timeout_seconds * 1_000_000
        )
        return Transaction(
            id=tx_id,
            key=request.key,
            kind=TransactionKind.PENDING if request.pending else TransactionKind.POSTED,
            posted_at=result.posted_at,
            legs=request.legs,
            ref=request.ref,
            metadata=request.metadata,
            expires_at=expires_at,
        )

    def submit(self, requests: Sequence[TransactionRequest], *, atomic: bool = True) -> BatchResult:
        """Post a batch of transactions and holds, in order, in one database transaction.

        ``atomic``: every item posts or none does (:class:`BatchRejected` lists each
        refusal). Otherwise each item succeeds or fails on its own, and the result says which.
        A request whose key was posted before is a replay: it returns the original id and
        posts nothing; the same key with a different request is ``idempotency_conflict``.
        """
        if not requests:
            return BatchResult((), frozenset(), ())
        return self.db.transaction(lambda conn: self.submit_in(conn, requests, atomic=atomic))

    def submit_in(
        self, conn: Connection, requests: Sequence[TransactionRequest], *, atomic: bool = True
    ) -> BatchResult:
        """:meth:`submit` inside a unit of work the caller owns (and commits): for use cases
        that must move their own rows and the ledger in one database transaction."""
        if not requests:
            return BatchResult((), frozenset(), ())
        now = self.clock.now_us()
        # Keys are read under the account locks: a twin request on the same accounts
        # that got there first is already committed and seen here as the original.
        # Ids are taken for every item (those of refused items go unused).
        start = repo.begin_batch(
            conn,
            {leg[0] for r in requests for leg in r.legs},
            list({r.key for r in requests if type(r.key) is str}),
            len(requests),
        )
        book = BalanceBook(start.accounts)
        existing = start.existing
        ids: list[int | None] = [None] * len(requests)
        replayed: set[int] = set()
        errors: list[ItemError] = []
        first_of: dict[str, int] = {}
        fresh = iter(start.ids)
        rows = _Rows(book)
        for i, r in enumerate(requests):
            try:
                key = check_key(r.key)
                stored = existing.get(key)
                if stored is not None:
                    if not same_request(r, stored):
                        raise IdempotencyConflict(
                            f"Key {key!r} was used for a different request "
                            f"(transaction {stored.id})."
                        )
                    ids[i] = stored.id
                    replayed.add(i)
                    continue
                first = first_of.get(key)
                if first is not None:
                    if requests[first] != r:
                        raise IdempotencyConflict(
                            f"Key {key!r} appears twice in the batch with different requests."
                        )
                    ids[i] = ids[first]
                    replayed.add(i)
                    continue
                legs = r.legs
                check_leg_shape(legs)
                check_timeout(r.pending, r.timeout_seconds)
                book.check_balanced(legs)
                if r.pending:
                    book.apply(hold=legs)
                    kind = _PENDING
                    expires_at = (
                        None if r.timeout_seconds is None
                        else now + r.timeout_seconds * 1_000_000
                    )  # fmt: skip
                else:
                    book.apply(post=legs)
                    kind, expires_at = _POSTED, None
            except CapillaryError as exc:
                errors.append(ItemError(i, str(r.key), exc))
                continue
            first_of[key] = i
            ids[i] = tx_id = next(fresh)
            rows.add(tx_id, _Write(key, kind, legs, r.ref, r.metadata, None, None, expires_at), now)
        if errors and atomic:
            raise BatchRejected(errors)
        rows.write(conn, book)
        return BatchResult(tuple(ids), frozenset(replayed), tuple(errors), now)

    def post_pending(
        self,
        *,
        key: str,
        pending_id: int,
        amounts: Sequence[int] | None = None,
        ref: str | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> Transaction:
        """Post a hold in full, or in part with ``amounts`` (one per leg, each at most the
        held amount, balanced); what is not posted is released."""
        return self._resolve(
            key=key,
            pending_id=pending_id,
            kind=TransactionKind.POST_PENDING,
            amounts=amounts,
            ref=ref,
            metadata=metadata,
        )

    def void_pending(
        self,
        *,
        key: str,
        pending_id: int,
        ref: str | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> Transaction:
        """Release a hold without posting anything."""
        return self._resolve(
            key=key,
            pending_id=pending_id,
            kind=TransactionKind.VOID_PENDING,
            amounts=None,
            ref=ref,
            metadata=metadata,
        )

    def _resolve(
        self,
        *,
        key: str,
        pending_id: int,
        kind: TransactionKind,
        amounts: Sequence[int] | None,
        ref: str | None,
        metadata: Mapping[str, Any] | None,
    ) -> Transaction:
        return self._fetch_written(
            self.db.transaction(
                lambda conn: self.resolve_in(
                    conn,
                    key=key,
                    pending_id=pending_id,
                    kind=kind,
                    amounts=amounts,
                    ref=ref,
                    metadata=metadata,
                )
            )
        )

    def resolve_in(
        self,
        conn: Connection,
        *,
        key: str,
        pending_id: int,
        kind: TransactionKind,
        amounts: Sequence[int] | None = None,
        ref: str | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> int:
        """Post (``POST_PENDING``) or void (``VOID_PENDING``) a hold inside the caller's unit
        of work. Returns the resolving transaction's id, negated when it was a replay."""
        check_key(key)
        meta = canonical_metadata(metadata)
        amounts = None if amounts is None else tuple(amounts)

        now = self.clock.now_us()
        pending = repo.transaction_by_id(conn, pending_id)
        if pending is None or pending.kind is not TransactionKind.PENDING:
            raise PendingNotFound(f"Transaction {pending_id} is not a hold.")
        legs = partial_post_legs(pending, amounts) if kind is TransactionKind.POST_PENDING else ()
        # Lock first, then read what the decision rests on: whoever resolves this hold
        # holds these locks, so what we read below cannot change under us.
        book = BalanceBook(account_repo.lock_accounts(conn, {leg[0] for leg in pending.legs}))
        stored = repo.transactions_by_key(conn, [key]).get(key)
        if stored is not None:
            if (stored.kind, stored.pending_id, stored.legs, stored.ref, stored.metadata) != (
                kind,
                pending_id,
                legs,
                ref,
                meta,
            ):
                raise IdempotencyConflict(
                    f"Key {key!r} was used for a different request (transaction {stored.id})."
                )
            return -stored.id
        resolution = repo.resolution_of(conn, pending_id)
        if resolution is not None:
            raise PendingAlreadyResolved(
                f"Hold {pending_id} was already resolved ({resolution.kind.value}, "
                f"transaction {resolution.id})."
            )
        if pending.expires_at is not None and now >= pending.expires_at:
            raise PendingExpired(
                f"Hold {pending_id} expired; its amounts are released at the next sweep."
            )
        if legs:
            book.check_balanced(legs)
        book.apply(post=legs, release=pending.legs)
        write = _Write(key=key, kind=kind.value, legs=legs, ref=ref, metadata=meta,
                       pending_id=pending_id)  # fmt: skip
        (tx_id,) = _insert(conn, [write], now, book)
        return tx_id

    def _fetch_written(self, signed_id: int) -> Transaction:
        """A negative id marks a replay (see the ``work`` functions)."""
        tx = self.transaction(abs(signed_id))
        return replace(tx, replayed=True) if signed_id < 0 else tx

    def expire_holds(self, *, limit: int = 10_000) -> int:
        """Release every hold whose timeout has passed; returns how many were expired."""

        def work(conn: Connection) -> int:
            now = self.clock.now_us()
            candidates = repo.expired_holds(conn, now, limit)
            if not candidates:
                return 0
            accounts = {leg[0] for h in candidates for leg in h.legs}
            book = BalanceBook(account_repo.lock_accounts(conn, accounts))
            # Under these locks no one else can resolve the holds; drop any resolved meanwhile.
            still_open = {h.id for h in repo.expired_holds(conn, now, limit)}
            holds = [h for h in candidates if h.id in still_open]
            writes = []
            for h in holds:
                book.apply(release=h.legs)
                writes.append(
                    _Write(key=f"expire:{h.id}", kind=TransactionKind.EXPIRE_PENDING.value, legs=(),
                           pending_id=h.id)
                )  # fmt: skip
            _insert(conn, writes, now, book)
            return len(writes)

        return self.db.transaction(work)

    def reverse(
        self,
        *,
        key: str,
        transaction_id: int,
        ref: str | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> Transaction:
        """Undo a posted transaction with a new one that swaps every leg's side."""
        check_key(key)
        meta = canonical_metadata(metadata)

        def work(conn: Connection) -> int:
            now = self.clock.now_us()
            target = repo.transaction_by_id(conn, transaction_id)
            if target is None:
                raise TransactionNotFound(f"Transaction {transaction_id} does not exist.")
            legs = reversal_legs(target.legs)
            book = BalanceBook(
                account_repo.lock_accounts(conn, {leg[0] for leg in legs})
            )  # then read
            stored = repo.transactions_by_key(conn, [key]).get(key)
            if stored is not None:
                if (stored.kind, stored.reverses_id, stored.ref, stored.metadata) != (
                    TransactionKind.REVERSAL,
                    transaction_id,
                    ref,
                    meta,
                ):
                    raise IdempotencyConflict(
                        f"Key {key!r} was used for a different request (transaction {stored.id})."
                    )
                return -stored.id
            if target.kind not in POSTING_KINDS or target.kind is TransactionKind.REVERSAL:
                raise NotReversible(
                    f"Transaction {transaction_id} is a {target.kind.value} transaction; only "
                    "posted transactions can be reversed (a hold is voided instead)."
                )
            earlier = repo.reversal_of(conn, transaction_id)
            if earlier is not None:
                raise AlreadyReversed(
                    f"Transaction {transaction_id} was already reversed by {earlier.id}."
                )
            book.apply(post=legs)
            write = _Write(key=key, kind=TransactionKind.REVERSAL.value, legs=legs, ref=ref,
                           metadata=meta, reverses_id=transaction_id)  # fmt: skip
            (tx_id,) = _insert(conn, [write], now, book)
            return tx_id

        return self._fetch_written(self.db.transaction(work))
