"""Digital payable certificates (数字债权凭证) and their fragments.

A *certificate* is an obligor's promise to pay ``face`` in ``currency`` on ``maturity``,
issued to the first holder against confirmed payables of the obligor to that holder, never
for more than their open amount. It is ``pending`` until the first holder accepts it (the
issuer may cancel it until then), then ``active``; at maturity it is ``settled``, or
``overdue`` if the obligor cannot pay.

A certificate is a tree of *fragments*. The root is the whole face, held by the first holder.
Passing part of a fragment on *splits* it: the fragment is ``spent``; the recipient gets a new
fragment for the amount, and the sender a new one for the change (if any). Invariant: the
active fragments of a certificate always sum to its face, until settlement. A fragment's
*tier* is how many holders it passed from the root's holder (the root is tier 1); its *path*
is the ids from the root down.

Rules of a transfer: only the holder of an active fragment moves it; not to itself; each
resulting fragment at least the minimum fragment amount; strictly before maturity. Financing
is a transfer to a funder, paid for (see :mod:`capillary.domain.pricing`).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from capillary.domain.calendar import BusinessCalendar
from capillary.domain.errors import (
    BeforeIssue,
    BelowMinimumFragment,
    CertificateInconsistent,
    CertificateNotPending,
    ExceedsFragment,
    FragmentNotActive,
    InvalidAmount,
    MaturityReached,
    MaturityTooLate,
    NotHolder,
    NoTradeReference,
    OverPayable,
    TransferToSelf,
    ValidationError,
)
from capillary.domain.inputs import RateRange
from capillary.domain.payables import Payable, PayableStatus
from capillary.domain.pricing import DayCount, discount
from capillary.domain.trade import Invoice
from capillary.domain.units import ISO_4217, describe, format_minor


class CertificateStatus(enum.StrEnum):
    PENDING = "pending"
    ACTIVE = "active"
    CANCELLED = "cancelled"
    SETTLED = "settled"
    OVERDUE = "overdue"


class FragmentStatus(enum.StrEnum):
    ACTIVE = "active"
    SPENT = "spent"
    SETTLED = "settled"
    OVERDUE = "overdue"
    FROZEN = "frozen"


DISCOUNT_RATES = RateRange(Decimal(0), Decimal("0.36"), "A discount rate")
FEE_RATES = RateRange(Decimal(0), Decimal("0.05"), "A fee rate")


@dataclass(frozen=True, slots=True)
class Rules:
    """The platform's certificate settings."""

    min_fragment: int = 100_00  # minor units
    max_tenor_days: int = 365  # hard limit, issue to maturity
    soft_tenor_days: int = 180  # beyond this an issue is allowed but warned
    #: The annual discount rates a financing or an early payment may carry.
    discount_rates: RateRange = DISCOUNT_RATES
    #: The platform fee rates on the face a financing may carry.
    fee_rates: RateRange = FEE_RATES


@dataclass(frozen=True, slots=True)
class Certificate:
    id: int
    number: str
    obligor: str
    first_holder: str
    currency: str
    face: int
    issue_date: date
    maturity: date
    status: CertificateStatus

    @property
    def unit(self) -> str:
        """The ledger unit of this certificate: holdings are balances in it."""
        return f"CERT-{self.number}"


@dataclass(frozen=True, slots=True)
class Fragment:
    id: int
    certificate_id: int
    parent_id: int | None
    holder: str
    amount: int
    status: FragmentStatus
    tier: int
    path: str  # ids from the root, "1/4/9"
    recourse_to: str | None = None  # who sold it with recourse, if anyone


# ---------------------------------------------------------------- issue


@dataclass(frozen=True, slots=True)
class IssuePlan:
    maturity: date  # rolled to a business day
    allocations: tuple[tuple[int, int], ...]  # (payable id, amount taken off it)
    warnings: tuple[str, ...] = ()


def plan_issue(
    *,
    obligor: str,
    holder: str,
    face: int,
    currency: str,
    issue_date: date,
    maturity: date,
    payables: Sequence[Payable],
    calendar: BusinessCalendar,
    rules: Rules,
) -> IssuePlan:
    """Check an issue and say which payables back it, oldest due first."""
    if type(face) is not int or face <= 0:
        raise InvalidAmount(f"A certificate's face is a positive amount; got {face!r}.")
    if not payables:
        raise ValidationError("A certificate is issued against at least one confirmed payable.")
    ids = [p.id for p in payables]
    twice = sorted({i for i in ids if ids.count(i) > 1})
    if twice:
        raise ValidationError(f"Payable {twice[0]} is named twice; name each payable once.")
    for p in payables:
        if (p.buyer, p.supplier) != (obligor, holder):
            raise ValidationError(
                f"Payable {p.id} is owed by {p.buyer} to {p.supplier}, not by {obligor} to "
                f"{holder}."
            )
        if p.currency != currency:
            raise ValidationError(f"Payable {p.id} is in {p.currency}, not {currency}.")
        if p.status is not PayableStatus.OPEN:
            raise OverPayable(f"Payable {p.id} has nothing open.")
    open_total = sum(p.open_amount for p in payables)
    if face > open_total:
        raise OverPayable(
            f"The payables named have {describe(open_total, currency)} open; a certificate of "
            f"{describe(face, currency)} would exceed them."
        )
    if maturity <= issue_date:
        raise ValidationError(f"Maturity {maturity} is not after the issue date {issue_date}.")
    rolled = calendar.roll_forward(maturity)
    tenor = (rolled - issue_date).days
    if tenor > rules.max_tenor_days:
        rolled_note = "" if rolled == maturity else f" (rolled to the business day {rolled})"
        raise MaturityTooLate(
            f"Maturity {maturity}{rolled_note} is {tenor} days after issue; at most "
            f"{rules.max_tenor_days}."
        )
    warnings = []
    if tenor > rules.soft_tenor_days:
        warnings.append(
            f"long_tenor: {tenor} days to maturity, beyond the {rules.soft_tenor_days} recommended."
        )
    if rolled != maturity:
        warnings.append(f"rolled: maturity {maturity} is not a business day; it is {rolled}.")
    allocations = []
    left = face
    for p in sorted(payables, key=lambda p: (p.due_date, p.id)):
        take = min(left, p.open_amount)
        if take:
            allocations.append((p.id, take))
            left -= take
    return IssuePlan(rolled, tuple(allocations), tuple(warnings))


def check_pending(certificate: Certificate) -> None:
    if certificate.status is not CertificateStatus.PENDING:
        raise CertificateNotPending(
            f"Certificate {certificate.number} is {certificate.status.value}, not pending."
        )


# ---------------------------------------------------------------- transfer (split)


@dataclass(frozen=True, slots=True)
class Split:
    """What transferring ``amount`` of ``source`` makes: the source is spent; the recipient's
    fragment, and the sender's change (0 when the whole fragment moves)."""

    source: Fragment
    recipient: str
    amount: int
    change: int


CONTRACT_PREFIX = "contract:"


def parse_trade_reference(reference: str) -> tuple[str, str] | None:
    """What a transfer's reference names: ``None`` for a contract (``contract:<ref>``), else
    the (code, number) of an invoice (``number``, or ``code-number`` for an older one)."""
    ref = (reference or "").strip()
    if ref.startswith(CONTRACT_PREFIX) and len(ref) > len(CONTRACT_PREFIX):
        return None
    code, _, number = ref.rpartition("-")
    return code, number


def check_trade_reference(
    reference: str, invoice: Invoice | None, *, buyer: str, supplier: str
) -> None:
    """A transfer pays for trade: it names an invoice the recipient (supplier) issued to the
    sender (buyer), or a contract. ``invoice`` is the one the reference names, if found."""
    if parse_trade_reference(reference) is None:
        return
    if invoice is None or (invoice.seller, invoice.buyer) != (supplier, buyer):
        raise NoTradeReference(
            f"A transfer from {buyer} to {supplier} must name an invoice {supplier} issued to "
            f"{buyer}, or a contract as '{CONTRACT_PREFIX}<reference>'; got {reference!r}."
        )


def plan_split(
    certificate: Certificate,
    source: Fragment,
    *,
    sender: str,
    recipient: str,
    amount: int,
    on: date,
    rules: Rules,
) -> Split:
    if certificate.status is not CertificateStatus.ACTIVE:
        raise FragmentNotActive(
            f"Certificate {certificate.number} is {certificate.status.value}; only an active "
            "certificate's fragments move."
        )
    if source.holder != sender:
        raise NotHolder(f"{sender} does not hold fragment {source.id}; {source.holder} does.")
    if source.status is not FragmentStatus.ACTIVE:
        raise FragmentNotActive(f"Fragment {source.id} is {source.status.value}.")
    if recipient == sender:
        raise TransferToSelf("A holder cannot transfer a fragment to itself.")
    if on < certificate.issue_date:
        raise BeforeIssue(
            f"Certificate {certificate.number} is issued on {certificate.issue_date}; nothing "
            f"moves before that day (today is {on})."
        )
    if on >= certificate.maturity:
        raise MaturityReached(
            f"Certificate {certificate.number} matures on {certificate.maturity}; nothing "
            "moves on or after that day."
        )
    if type(amount) is not int or amount <= 0:
        raise InvalidAmount(f"A transfer is a positive amount; got {amount!r}.")
    if amount > source.amount:
        raise ExceedsFragment(
            f"Fragment {source.id} holds {describe(source.amount, certificate.currency)}; "
            f"{describe(amount, certificate.currency)} cannot be taken from it."
        )
    change = source.amount - amount
    if amount < rules.min_fragment or 0 < change < rules.min_fragment:
        cur = certificate.currency
        raise BelowMinimumFragment(
            f"Every fragment is at least {describe(rules.min_fragment, cur)}; this split would "
            f"make {describe(amount, cur)}" + (f" and {describe(change, cur)}." if change else ".")
        )
    return Split(source, recipient, amount, change)


def children(split: Split, *, first_id: int) -> list[Fragment]:
    """The fragments a split creates: the recipient's, then the change."""
    src = split.source
    made = [
        Fragment(first_id, src.certificate_id, src.id, split.recipient, split.amount,
                 FragmentStatus.ACTIVE, src.tier + 1, f"{src.path}/{first_id}")
    ]  # fmt: skip
    if split.change:
        made.append(
            Fragment(first_id + 1, src.certificate_id, src.id, src.holder, split.change,
                     FragmentStatus.ACTIVE, src.tier, f"{src.path}/{first_id + 1}",
                     src.recourse_to)
        )  # fmt: skip
    return made


def root(certificate: Certificate, fragment_id: int) -> Fragment:
    return Fragment(
        fragment_id, certificate.id, None, certificate.first_holder, certificate.face,
        FragmentStatus.ACTIVE, 1, str(fragment_id),
    )  # fmt: skip


def check_conservation(certificate: Certificate, fragments: Iterable[Fragment]) -> None:
    """The invariant: an active certificate's active fragments sum to its face, and every
    fragment is reachable from the root."""
    fragments = list(fragments)
    by_id = {f.id: f for f in fragments}
    active = sum(f.amount for f in fragments if f.status is FragmentStatus.ACTIVE)
    if certificate.status is CertificateStatus.ACTIVE and active != certificate.face:
        raise AssertionError(f"active fragments sum to {active}, face is {certificate.face}")
    for f in fragments:
        node = f
        for _ in range(len(fragments) + 1):
            if node.parent_id is None:
                break
            node = by_id[node.parent_id]
        else:
            raise AssertionError(f"fragment {f.id} is not reachable from a root")
        if node.holder != certificate.first_holder or node.amount != certificate.face:
            raise AssertionError(f"fragment {f.id} descends from {node.id}, not the root")


# ---------------------------------------------------------------- settlement


def check_settleable(cert: Certificate, live: Sequence[Fragment]) -> None:
    """A certificate pays at maturity only if its live fragments add up to its face: the
    tree is the record of who is owed what, and one that does not add up is not paid on."""
    held = sum(f.amount for f in live)
    if held != cert.face:
        e = ISO_4217.get(cert.currency, 2)
        raise CertificateInconsistent(
            f"Certificate {cert.number}'s live fragments add up to "
            f"{format_minor(held, e)} {cert.currency}, not its face of "
            f"{format_minor(cert.face, e)} {cert.currency}; it was not settled."
        )


def maturity_payouts(
    fragments: Iterable[Fragment], *, maturity: date, on: date, penalty_rate: Decimal
) -> dict[str, int]:
    """What paying a certificate on ``on`` owes each holder: the sum of its live (active or
    overdue) fragments, plus penalty interest on each for the days past ``maturity``."""
    late = days_overdue(maturity, on)
    payouts: dict[str, int] = {}
    for f in fragments:
        if f.status in (FragmentStatus.ACTIVE, FragmentStatus.OVERDUE):
            owed = f.amount + penalty_interest(f.amount, penalty_rate, late)
            payouts[f.holder] = payouts.get(f.holder, 0) + owed
    return payouts


def early_payouts(
    fragments: Iterable[Fragment], *, rate: Decimal, days: int, day_count: DayCount
) -> dict[str, int]:
    """Dynamic discounting: each live fragment paid ``days`` early at its amount less the
    discount at ``rate``."""
    payouts: dict[str, int] = {}
    for f in fragments:
        if f.status in (FragmentStatus.ACTIVE, FragmentStatus.OVERDUE):
            paid = f.amount - discount(f.amount, rate, days, day_count)
            payouts[f.holder] = payouts.get(f.holder, 0) + paid
    return payouts


def penalty_interest(amount: int, annual_rate: Decimal, days: int, *, base: int = 360) -> int:
    """Interest on an overdue amount: amount × rate × days / base, half-up."""
    if days <= 0:
        return 0
    exact = Decimal(amount) * annual_rate * days / base
    return int(exact.quantize(Decimal(1), ROUND_HALF_UP))


def days_overdue(maturity: date, on: date) -> int:
    return max(0, (on - maturity).days)


def maturity_window(issue_date: date, rules: Rules) -> tuple[date, date]:
    """The earliest and latest maturities an issue on ``issue_date`` may have."""
    return issue_date + timedelta(days=1), issue_date + timedelta(days=rules.max_tenor_days)
