"""The double-entry ledger's rules, free of storage.

Vocabulary
----------
*Account*: belongs to one organization and one unit; has a type (``asset``, ``liability`` …,
free text for the chart of accounts), a code unique per organization and unit, and an
optional *balance constraint*:

- ``debits_must_not_exceed_credits``: posted + pending debits may never exceed posted
  credits (a cash account that may not go negative, written from the platform's side);
- ``credits_must_not_exceed_debits``: the mirror image;
- ``none``.

*Leg*: one line of a transaction: an account, a side (debit or credit, always explicit) and a
positive amount in the account's unit's minor units. There are no signed amounts.

*Transaction*: two or more legs whose debits equal their credits *per unit*. It is
``posted`` (changes posted balances), or ``pending`` (a hold: reserves amounts in pending
balances, counted against constraints, until it is posted in full or in part, voided, or
expires). A posted transaction is never changed; a mistake is undone by a ``reversal``, a new
transaction with every leg's side swapped, linked to the original.

Balances are four counters per account (TigerBeetle's model): ``debits_posted``,
``credits_posted``, ``debits_pending``, ``credits_pending``. Each is a sum of leg amounts, so
each is non-negative and at most ``MAX_AMOUNT``.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from capillary.domain.errors import (
    AccountNotFound,
    AccountOnBothSides,
    BalanceOverflow,
    CreditsExceedDebits,
    DebitsExceedCredits,
    InvalidAmount,
    InvalidIdempotencyKey,
    InvalidPostAmounts,
    InvalidTimeout,
    TooFewLegs,
    UnbalancedTransaction,
    ValidationError,
)
from capillary.domain.units import MAX_AMOUNT, describe

MAX_KEY_LENGTH = 128
#: A hold may last at most a year.
MAX_TIMEOUT_SECONDS = 366 * 24 * 3600


#: The kinds of account the books know: assets and expenses grow by debits, the others by
#: credits.
ACCOUNT_TYPES = ("asset", "liability", "equity", "revenue", "expense")


def check_account_type(type: str) -> str:
    if type not in ACCOUNT_TYPES:
        raise ValidationError(
            f"An account's type is one of {', '.join(ACCOUNT_TYPES)}; got {type!r}."
        )
    return type


class Side(enum.StrEnum):
    DEBIT = "D"
    CREDIT = "C"

    @property
    def opposite(self) -> Side:
        return Side.CREDIT if self is Side.DEBIT else Side.DEBIT


class BalanceConstraint(enum.StrEnum):
    NONE = "none"
    DEBITS_MUST_NOT_EXCEED_CREDITS = "debits_must_not_exceed_credits"
    CREDITS_MUST_NOT_EXCEED_DEBITS = "credits_must_not_exceed_debits"


# Enum members are descriptors, slow to look up; the hot loops read them once, here.
_DEBIT = Side.DEBIT
_CREDIT = Side.CREDIT
_NO_CONSTRAINT = BalanceConstraint.NONE
#: How a side is written in storage.
SIDE_CODE = {Side.DEBIT: "D", Side.CREDIT: "C"}


class TransactionKind(enum.StrEnum):
    POSTED = "posted"
    PENDING = "pending"
    POST_PENDING = "post_pending"
    VOID_PENDING = "void_pending"
    EXPIRE_PENDING = "expire_pending"
    REVERSAL = "reversal"


#: Kinds whose legs count in posted balances.
POSTING_KINDS = frozenset(
    {TransactionKind.POSTED, TransactionKind.POST_PENDING, TransactionKind.REVERSAL}
)
#: Kinds that resolve a pending transaction (each pending is resolved at most once).
RESOLVING_KINDS = frozenset(
    {TransactionKind.POST_PENDING, TransactionKind.VOID_PENDING, TransactionKind.EXPIRE_PENDING}
)


class Leg(NamedTuple):
    """One line of a transaction. Build with :func:`debit` and :func:`credit`."""

    account_id: int
    side: Side
    amount: int


def debit(account_id: int, amount: int) -> Leg:
    return Leg(account_id, Side.DEBIT, amount)


def credit(account_id: int, amount: int) -> Leg:
    return Leg(account_id, Side.CREDIT, amount)


@dataclass(frozen=True, slots=True)
class Account:
    id: int
    org: str
    unit: str
    type: str
    code: str
    constraint: BalanceConstraint
    metadata: str | None
    created_at: int


@dataclass(frozen=True, slots=True)
class Balance:
    """An account's four counters; ``net_debit`` = posted debits − posted credits."""

    debits_posted: int = 0
    credits_posted: int = 0
    debits_pending: int = 0
    credits_pending: int = 0

    @property
    def net_debit(self) -> int:
        return self.debits_posted - self.credits_posted

    @property
    def net_credit(self) -> int:
        return self.credits_posted - self.debits_posted

    @property
    def available_credit(self) -> int:
        """What a ``debits_must_not_exceed_credits`` account can still be debited."""
        return self.credits_posted - self.debits_posted - self.debits_pending

    @property
    def available_debit(self) -> int:
        """What a ``credits_must_not_exceed_debits`` account can still be credited."""
        return self.debits_posted - self.credits_posted - self.credits_pending


@dataclass(frozen=True, slots=True)
class TransactionRequest:
    """A request to post (or, with ``pending``, to hold) one transaction.

    ``key`` is chosen by the client and makes the request idempotent: sending the same
    request again returns the original result and posts nothing.
    """

    key: str
    legs: tuple[Leg, ...]
    pending: bool = False
    timeout_seconds: int | None = None
    ref: str | None = None
    metadata: str | None = None  # canonical JSON, see canonical_metadata()


@dataclass(frozen=True, slots=True)
class Transaction:
    """A transaction as the ledger holds it."""

    id: int
    key: str
    kind: TransactionKind
    posted_at: int  # microseconds since the Unix epoch, UTC
    legs: tuple[Leg, ...]
    ref: str | None = None
    metadata: str | None = None
    pending_id: int | None = None
    reverses_id: int | None = None
    expires_at: int | None = None
    replayed: bool = False

    @property
    def timeout_seconds(self) -> int | None:
        if self.expires_at is None:
            return None
        return (self.expires_at - self.posted_at) // 1_000_000


def canonical_metadata(metadata: Mapping[str, Any] | None) -> str | None:
    """Metadata as canonical JSON text (sorted keys, no spaces), or ``None`` when empty."""
    if not metadata:
        return None
    try:
        return json.dumps(metadata, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    except (TypeError, ValueError) as exc:
        raise ValidationError(f"Metadata must be JSON-serialisable: {exc}.") from exc


def make_request(
    *,
    key: str,
    legs: Iterable[Leg],
    pending: bool = False,
    timeout_seconds: int | None = None,
    ref: str | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> TransactionRequest:
    """Build a request, checking everything that can be checked without the ledger."""
    check_key(key)
    try:
        legs = tuple(Leg(leg[0], Side(leg[1]), leg[2]) for leg in legs)
    except (ValueError, TypeError, IndexError) as exc:
        raise ValidationError(
            f"Each leg is (account id, side 'D' or 'C', amount): {exc}."
        ) from None
    check_leg_shape(legs)
    check_timeout(pending, timeout_seconds)
    return TransactionRequest(
        key=key,
        legs=legs,
        pending=pending,
        timeout_seconds=timeout_seconds,
        ref=ref,
        metadata=canonical_metadata(metadata),
    )


def check_timeout(pending: bool, timeout_seconds: object) -> None:
    """Only a hold has a timeout, of 1 second to a year (none: it waits to be resolved)."""
    if timeout_seconds is None:
        return
    if not pending:
        raise InvalidTimeout("Only a pending transaction (a hold) can have a timeout.")
    if type(timeout_seconds) is not int or not 0 < timeout_seconds <= MAX_TIMEOUT_SECONDS:
        raise InvalidTimeout(
            f"A hold's timeout must be 1 to {MAX_TIMEOUT_SECONDS} seconds; got {timeout_seconds!r}."
        )


def check_key(key: object) -> str:
    if type(key) is not str or not 0 < len(key) <= MAX_KEY_LENGTH:
        raise InvalidIdempotencyKey(
            f"An idempotency key must be a non-empty string of at most {MAX_KEY_LENGTH} "
            f"characters; got {key!r}."
        )
    return key


def check_leg_shape(legs: Sequence[Leg]) -> None:
    """Rules that need no account: at least two legs, positive integer amounts,
    no account on both sides."""
    if len(legs) < 2:
        raise TooFewLegs(f"A transaction needs at least two legs; got {len(legs)}.")
    debited = set()
    credited = set()
    for account_id, side, amount in legs:
        if type(amount) is not int or not 0 < amount <= MAX_AMOUNT:
            raise InvalidAmount(
                f"Leg amount must be an integer from 1 to {MAX_AMOUNT} minor units; got {amount!r}."
            )
        if side is _DEBIT:
            debited.add(account_id)
        elif side is _CREDIT:
            credited.add(account_id)
        else:
            raise ValidationError(f"A leg's side must be Side.DEBIT or Side.CREDIT; got {side!r}.")
    both = debited & credited
    if both:
        raise AccountOnBothSides(
            f"Account {min(both)} is both debited and credited in one transaction."
        )


@dataclass(slots=True)
class AccountState:
    """A working copy of one account's balance inside a unit of work."""

    unit: str
    constraint: BalanceConstraint
    debits_posted: int
    credits_posted: int
    debits_pending: int
    credits_pending: int
    name: str = ""  # org:code:unit, for messages

    def as_balance(self) -> Balance:
        return Balance(
            self.debits_posted, self.credits_posted, self.debits_pending, self.credits_pending
        )


def _check_constraint(
    account_id: int,
    state: AccountState,
    constraint: BalanceConstraint,
    added_debits: int,
    added_credits: int,
    dp: int,
    cp: int,
    dn: int,
    cn: int,
) -> None:
    """Refuse new balances ``dp, cp, dn, cn`` that break the account's constraint. Only
    what the change adds is judged: releasing a hold or receiving the other side never is."""
    if constraint is BalanceConstraint.DEBITS_MUST_NOT_EXCEED_CREDITS:
        if added_debits > 0 and dp + dn > cp:
            available = state.credits_posted - state.debits_posted - state.debits_pending
            refusal = DebitsExceedCredits(
                f"{state.name or f'Account {account_id}'} may not have debits above its "
                f"credits: it has {describe(available, state.unit)} available, "
                f"{describe(added_debits, state.unit)} requested."
            )
            refusal.account = state.name
            raise refusal
    elif added_credits > 0 and cp + cn > dp:
        available = state.debits_posted - state.credits_posted - state.credits_pending
        refused = CreditsExceedDebits(
            f"{state.name or f'Account {account_id}'} may not have credits above its "
            f"debits: it has {describe(available, state.unit)} available, "
            f"{describe(added_credits, state.unit)} requested."
        )
        refused.account = state.name
        raise refused


class BalanceBook:
    """Applies transactions to working copies of account balances, in order, refusing
    any that would break a rule, and remembers the net change per account.

    A refused transaction leaves the book exactly as it was, so a non-atomic batch can go
    on with the next item.
    """

    def __init__(self, accounts: Mapping[int, AccountState]) -> None:
        self.accounts = dict(accounts)
        self._initial = {
            account_id: (s.debits_posted, s.credits_posted, s.debits_pending, s.credits_pending)
            for account_id, s in self.accounts.items()
        }

    def check_balanced(self, legs: Sequence[Leg]) -> None:
        """Every account exists, and debits equal credits in each unit."""
        net: dict[str, int] = {}
        accounts = self.accounts
        for leg in legs:
            state = accounts.get(leg.account_id)
            if state is None:
                raise AccountNotFound(f"Account {leg.account_id} does not exist.")
            signed = leg[2] if leg[1] is _DEBIT else -leg[2]
            net[state.unit] = net.get(state.unit, 0) + signed
        for unit, difference in net.items():
            if difference:
                raise UnbalancedTransaction(
                    f"Debits and credits in {unit} differ by {describe(abs(difference), unit)}; "
                    "they must be equal in every unit."
                )

    def apply(
        self,
        *,
        post: Sequence[Leg] = (),
        hold: Sequence[Leg] = (),
        release: Sequence[Leg] = (),
    ) -> None:
        """Add ``post`` to posted balances, ``hold`` to pending ones and take ``release``
        out of pending ones; all or nothing."""
        # Per account: [debits posted, credits posted, debits pending, credits pending].
        changes: dict[int, list[int]] = {}
        for legs, offset, sign in ((post, 0, 1), (hold, 2, 1), (release, 2, -1)):
            for account_id, side, amount in legs:
                delta = changes.get(account_id)
                if delta is None:
                    delta = changes[account_id] = [0, 0, 0, 0]
                delta[offset if side is _DEBIT else offset + 1] += sign * amount
        accounts = self.accounts
        updated = []
        for account_id, (ddp, dcp, ddn, dcn) in changes.items():
            state = accounts.get(account_id)
            if state is None:
                raise AccountNotFound(f"Account {account_id} does not exist.")
            dp = state.debits_posted + ddp
            cp = state.credits_posted + dcp
            dn = state.debits_pending + ddn
            cn = state.credits_pending + dcn
            if dp > MAX_AMOUNT or cp > MAX_AMOUNT or dn > MAX_AMOUNT or cn > MAX_AMOUNT:
                raise BalanceOverflow(
                    f"{state.name or f'Account {account_id}'}'s balance would exceed "
                    f"{describe(MAX_AMOUNT, state.unit)}."
                )
            assert dn >= 0, f"debits pending of account {account_id} below zero"
            assert cn >= 0, f"credits pending of account {account_id} below zero"
            constraint = state.constraint
            if constraint is not _NO_CONSTRAINT:
                _check_constraint(
                    account_id, state, constraint, ddp + ddn, dcp + dcn, dp, cp, dn, cn
                )
            updated.append((state, dp, cp, dn, cn))
        for state, dp, cp, dn, cn in updated:
            state.debits_posted = dp
            state.credits_posted = cp
            state.debits_pending = dn
            state.credits_pending = cn

    def deltas(self) -> dict[int, tuple[int, int, int, int]]:
        """Net change per account since the book was opened; unchanged accounts left out."""
        out = {}
        for account_id, state in self.accounts.items():
            before = self._initial[account_id]
            delta = (
                state.debits_posted - before[0],
                state.credits_posted - before[1],
                state.debits_pending - before[2],
                state.credits_pending - before[3],
            )
            if any(delta):
                out[account_id] = delta
        return out


def same_request(request: TransactionRequest, stored: Transaction) -> bool:
    """Whether ``request`` is exactly the one that created ``stored`` (an idempotent replay)."""
    kind = TransactionKind.PENDING if request.pending else TransactionKind.POSTED
    return (
        stored.kind is kind
        and stored.legs == request.legs
        and stored.ref == request.ref
        and stored.metadata == request.metadata
        and stored.timeout_seconds == request.timeout_seconds
    )


def partial_post_legs(pending: Transaction, amounts: Sequence[int] | None) -> tuple[Leg, ...]:
    """The legs that posting ``pending`` with ``amounts`` (one per leg; ``None`` posts it in
    full) writes. Each amount is at most the held one, and the result must balance per unit
    (checked by the caller against the accounts)."""
    if amounts is None:
        return pending.legs
    if len(amounts) != len(pending.legs):
        raise InvalidPostAmounts(
            f"Give one amount per leg: the hold has {len(pending.legs)} legs, "
            f"{len(amounts)} amounts were given."
        )
    legs = []
    for leg, amount in zip(pending.legs, amounts, strict=True):
        if type(amount) is not int or not 0 <= amount <= leg.amount:
            raise InvalidPostAmounts(
                f"Each posted amount must be an integer from 0 to the held amount; "
                f"got {amount!r} for a hold of {leg.amount}."
            )
        if amount:
            legs.append(Leg(leg.account_id, leg.side, amount))
    if len(legs) < 2:
        raise InvalidPostAmounts("Posting a hold must post at least two legs; void it instead.")
    return tuple(legs)


def reversal_legs(legs: Iterable[Leg]) -> tuple[Leg, ...]:
    """Every leg with its side swapped: the transaction that undoes ``legs``."""
    return tuple(Leg(leg.account_id, leg.side.opposite, leg.amount) for leg in legs)
