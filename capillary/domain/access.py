"""Who may do what, and who may see what (DESIGN.md §8).

A *principal* is an organization acting through one of its users: every use case is asked
by one, and the services check it here before they change or show anything. The checks
are pure functions of the principal and of the loaded resource, so each interface (the
CLI now, the API and the console next) gets the same answers.

Acting. :data:`WHO_MAY` is the one table that says, for every write use case, which party
to it may ask: an organization **acts only for itself** (the obligor issues, the holder
transfers, the funder grants its lines and accepts financings, the buyer confirms, the
supplier invoices), and the operator administers (organizations, limits, calendar,
settlement runs, the clock, recorded bank deposits) without ever acting for another.
Auditors and read-only users write nothing. A refusal is :class:`Forbidden`.

Seeing. An organization sees its own accounts and documents, the certificates it is a party
to, and of a certificate's tree its own fragments and the path above them (who passed them
down), never the sibling branches; the obligor, the operator and auditors see the whole
tree. A read of something the principal may not see is the resource's own *not found*,
never a hint that it exists.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from capillary.domain.certificates import Certificate, Fragment
from capillary.domain.errors import Forbidden
from capillary.domain.parties import Role


class UserRole(enum.StrEnum):
    """What a user may do for its organization."""

    ADMIN = "admin"
    STAFF = "staff"
    READ_ONLY = "read_only"


@dataclass(frozen=True, slots=True)
class Principal:
    """An organization (``org``, with the roles it holds on the platform) acting through
    ``user``, who has ``user_role`` in it."""

    org: str
    user: str
    roles: frozenset[Role]
    user_role: UserRole = UserRole.STAFF

    @property
    def label(self) -> str:
        """How the audit trail names it: ``org:user``."""
        return f"{self.org}:{self.user}"

    @property
    def is_operator(self) -> bool:
        return Role.OPERATOR in self.roles

    @property
    def is_auditor(self) -> bool:
        return Role.AUDITOR in self.roles

    @property
    def sees_everything(self) -> bool:
        """Operators and auditors see the whole platform."""
        return self.is_operator or self.is_auditor


class Party(enum.StrEnum):
    """The party to a use case who may ask for it; the value is how a refusal names it."""

    OPERATOR = "the platform's operator"
    OWNER = "the organization itself"
    OBLIGOR = "the certificate's obligor"
    FIRST_HOLDER = "the certificate's first holder"
    HOLDER = "the fragment's holder"
    FUNDER = "the funder"
    BUYER = "the buyer"
    SUPPLIER = "the supplier"
    COUNTERPARTY = "the other party to the offer"
    PROPOSER = "the party that made the offer"
    CLAIMANT = "the recourse claim's claimant"


class Act(enum.StrEnum):
    """Every use case that changes something."""

    INIT_PLATFORM = "init_platform"
    REGISTER_ORGANIZATION = "register_organization"
    SET_TOLERANCE = "set_tolerance"
    RELATE = "relate"
    SET_RELATIONSHIP = "set_relationship"
    CREATE_ORDER = "create_order"
    AMEND_ORDER = "amend_order"
    CANCEL_ORDER = "cancel_order"
    RECORD_DELIVERY = "record_delivery"
    ACCEPT_DELIVERY = "accept_delivery"
    ISSUE_INVOICE = "issue_invoice"
    MATCH_INVOICES = "match_invoices"
    CONFIRM_PAYABLE = "confirm_payable"
    REDUCE_PAYABLE = "reduce_payable"
    GRANT_CREDIT = "grant_credit"
    SET_ISSUANCE_LIMIT = "set_issuance_limit"
    SET_CALENDAR_DAY = "set_calendar_day"
    ISSUE_CERTIFICATE = "issue_certificate"
    ACCEPT_CERTIFICATE = "accept_certificate"
    CANCEL_CERTIFICATE = "cancel_certificate"
    TRANSFER = "transfer"
    OFFER_FINANCING = "offer_financing"  # a holder offers to sell
    QUOTE_FINANCING = "quote_financing"  # a funder offers to buy
    ACCEPT_FINANCING = "accept_financing"
    WITHDRAW_FINANCING = "withdraw_financing"
    RUN_SETTLEMENT = "run_settlement"
    PAY_EARLY = "pay_early"
    COLLECT_RECOURSE = "collect_recourse"  # the funder takes its money back from the seller
    RECORD_DEPOSIT = "record_deposit"
    WITHDRAW_CASH = "withdraw_cash"
    SET_BANK_ACCOUNT = "set_bank_account"  # where the organization's money leaves to
    RUN_PAYMENTS = "run_payments"  # queued payments sent to the bank as pain.001
    IMPORT_STATEMENT = "import_statement"  # a bank's camt.053 booked
    SET_CLOCK = "set_clock"
    OPERATE_LEDGER = "operate_ledger"  # raw postings, holds, reversals, sealing
    MANAGE_API_KEYS = "manage_api_keys"
    MANAGE_WEBHOOKS = "manage_webhooks"  # endpoints, and replaying their deliveries
    MANAGE_USERS = "manage_users"  # console users: adding, roles, passwords, disabling
    REQUEST_FINANCING = "request_financing"  # a holder asks the market
    CANCEL_REQUEST = "cancel_request"
    QUOTE_REQUEST = "quote_request"  # a funder answers a request
    FILL_REQUEST = "fill_request"  # the holder takes the best the market offers
    OFFER_EARLY_PAYMENT = "offer_early_payment"  # an obligor offers its cash
    BID_EARLY_PAYMENT = "bid_early_payment"  # a holder bids the APR it gives up
    CLEAR_EARLY_PAYMENT = "clear_early_payment"  # the obligor pays the clearing bids
    AMEND_REQUEST = "amend_request"
    PUBLISH_BASE_RATE = "publish_base_rate"  # the rate standing rules price over
    SET_GRADE = "set_grade"  # an obligor's credit grade, with a reason
    SET_STANDING_RULE = "set_standing_rule"  # a funder's standing quotes (and withdrawing one)
    SET_STANDING_REQUEST = "set_standing_request"  # a holder's (and cancelling one)
    RUN_STANDING = "run_standing"  # the sweep that posts and fills standing requests
    TRAIN_SCORECARD = "train_scorecard"  # fit a model on the platform's data; activate one
    RUN_SCORING = "run_scoring"  # score every organization with the active model
    DECIDE_CREDIT = "decide_credit"  # approve or override a suggested grade and limit
    RAISE_ALERTS = "raise_alerts"  # the risk monitor's concentration and overdue alerts


#: Who may ask for each use case: the one rule the services enforce for every interface.
WHO_MAY: Mapping[Act, Party] = {
    Act.INIT_PLATFORM: Party.OPERATOR,
    Act.REGISTER_ORGANIZATION: Party.OPERATOR,
    Act.SET_TOLERANCE: Party.OWNER,
    Act.RELATE: Party.OPERATOR,  # onboarding a chain: who trades with whom
    Act.SET_RELATIONSHIP: Party.OPERATOR,
    Act.CREATE_ORDER: Party.BUYER,
    Act.AMEND_ORDER: Party.BUYER,
    Act.CANCEL_ORDER: Party.BUYER,
    Act.RECORD_DELIVERY: Party.SUPPLIER,
    Act.ACCEPT_DELIVERY: Party.BUYER,
    Act.ISSUE_INVOICE: Party.SUPPLIER,
    Act.MATCH_INVOICES: Party.BUYER,
    Act.CONFIRM_PAYABLE: Party.BUYER,
    Act.REDUCE_PAYABLE: Party.SUPPLIER,  # the creditor acknowledges what was paid
    Act.GRANT_CREDIT: Party.FUNDER,
    Act.SET_ISSUANCE_LIMIT: Party.OPERATOR,
    Act.SET_CALENDAR_DAY: Party.OPERATOR,
    Act.ISSUE_CERTIFICATE: Party.OBLIGOR,
    Act.ACCEPT_CERTIFICATE: Party.FIRST_HOLDER,
    Act.CANCEL_CERTIFICATE: Party.OBLIGOR,
    Act.TRANSFER: Party.HOLDER,
    Act.OFFER_FINANCING: Party.HOLDER,
    Act.QUOTE_FINANCING: Party.FUNDER,
    Act.ACCEPT_FINANCING: Party.COUNTERPARTY,
    Act.WITHDRAW_FINANCING: Party.PROPOSER,
    Act.RUN_SETTLEMENT: Party.OPERATOR,
    Act.PAY_EARLY: Party.OBLIGOR,
    Act.COLLECT_RECOURSE: Party.CLAIMANT,
    Act.RECORD_DEPOSIT: Party.OPERATOR,
    Act.WITHDRAW_CASH: Party.OWNER,
    Act.SET_BANK_ACCOUNT: Party.OWNER,
    Act.RUN_PAYMENTS: Party.OPERATOR,
    Act.IMPORT_STATEMENT: Party.OPERATOR,
    Act.SET_CLOCK: Party.OPERATOR,
    Act.OPERATE_LEDGER: Party.OPERATOR,
    Act.MANAGE_API_KEYS: Party.OWNER,  # by its admin; the operator's admin for anyone
    Act.MANAGE_WEBHOOKS: Party.OWNER,  # by its admin, for itself only
    Act.MANAGE_USERS: Party.OWNER,  # by its admin; the operator's admin for anyone
    Act.REQUEST_FINANCING: Party.HOLDER,
    Act.CANCEL_REQUEST: Party.HOLDER,
    Act.QUOTE_REQUEST: Party.FUNDER,
    Act.FILL_REQUEST: Party.HOLDER,
    Act.OFFER_EARLY_PAYMENT: Party.OBLIGOR,
    Act.BID_EARLY_PAYMENT: Party.HOLDER,
    Act.CLEAR_EARLY_PAYMENT: Party.OBLIGOR,
    Act.AMEND_REQUEST: Party.HOLDER,
    Act.PUBLISH_BASE_RATE: Party.OPERATOR,
    Act.SET_GRADE: Party.OPERATOR,
    Act.SET_STANDING_RULE: Party.FUNDER,
    Act.SET_STANDING_REQUEST: Party.OWNER,
    Act.RUN_STANDING: Party.OPERATOR,
    Act.TRAIN_SCORECARD: Party.OPERATOR,
    Act.RUN_SCORING: Party.OPERATOR,
    Act.DECIDE_CREDIT: Party.OPERATOR,
    Act.RAISE_ALERTS: Party.OPERATOR,
}


#: The role an organization needs to be that party at all.
PARTY_ROLE: Mapping[Party, Role] = {Party.FUNDER: Role.FUNDER, Party.OBLIGOR: Role.CORE}


def staff_only(principal: Principal, what: str, verb: str = "read") -> None:
    """``what`` (a plural: "stress tests") is the operator's and the auditors' alone to
    ``verb``: anyone else is :class:`Forbidden`."""
    if not principal.sees_everything:
        raise Forbidden(f"{what[0].upper()}{what[1:]} are the operator's and the auditors' to "
                        f"{verb}, not {principal.org}'s.")  # fmt: skip


def refuse_readers(principal: Principal, doing: str) -> None:
    """Auditors and read-only users change nothing: refused before any work (a whole
    import, say), not row by row."""
    if principal.is_auditor and not principal.is_operator:
        raise Forbidden(f"{principal.org} is an auditor: it reads everything and changes nothing.")
    if principal.user_role is UserRole.READ_ONLY:
        raise Forbidden(f"{principal.label} has read-only access and may not {doing}.")


def authorize(principal: Principal, act: Act, party: str | Iterable[str] | None = None) -> None:
    """Refuse with :class:`Forbidden` unless ``principal`` may do ``act``.

    ``party`` is the organization (or organizations, each one asking for itself) that
    :data:`WHO_MAY` names for this act on this resource; operator acts need none."""
    who = WHO_MAY[act]
    doing = act.value.replace("_", " ")
    if principal.is_auditor and not principal.is_operator:
        raise Forbidden(f"{principal.org} is an auditor: it reads everything and changes nothing.")
    if principal.user_role is UserRole.READ_ONLY:
        raise Forbidden(f"{principal.label} has read-only access and may not {doing}.")
    if who is Party.OPERATOR:
        if not principal.is_operator:
            raise Forbidden(f"Only {who.value} may {doing}; {principal.org} is not it.")
        return
    needed = PARTY_ROLE.get(who)
    if needed is not None and needed not in principal.roles:
        raise Forbidden(f"Only {who.value} may {doing}; {principal.org} is not a {needed.value}.")
    parties = {party} if isinstance(party, str) else set(party or ())
    if parties != {principal.org}:
        named = ", ".join(sorted(parties - {principal.org})) or "another organization"
        raise Forbidden(
            f"Only {who.value} ({named}) may {doing}; {principal.org} acts only for itself."
        )


def may_see(principal: Principal, *parties: str | None) -> bool:
    """Whether ``principal`` may see a record whose parties are ``parties``."""
    return principal.sees_everything or principal.org in parties


def sees_whole_tree(principal: Principal, certificate: Certificate) -> bool:
    return principal.sees_everything or principal.org == certificate.obligor


def visible_fragments(
    principal: Principal, certificate: Certificate, fragments: Sequence[Fragment]
) -> list[Fragment]:
    """Of a certificate's fragments, those ``principal`` may see: all for the obligor, the
    operator and auditors; otherwise its own (held now or before) and the path above them."""
    if sees_whole_tree(principal, certificate):
        return list(fragments)
    above = {int(i) for f in fragments if f.holder == principal.org for i in f.path.split("/")}
    return [f for f in fragments if f.id in above]


def may_see_certificate(
    principal: Principal, certificate: Certificate, fragments: Sequence[Fragment]
) -> bool:
    """A party to a certificate: the obligor, the first holder, any holder of a fragment."""
    return (
        sees_whole_tree(principal, certificate)
        or principal.org == certificate.first_holder
        or any(f.holder == principal.org for f in fragments)
    )


def authorize_key_admin(principal: Principal, org: str) -> None:
    """An organization's admin manages its own API keys; the operator's admin those of any
    organization. Anyone else is :class:`Forbidden`."""
    if principal.user_role is not UserRole.ADMIN:
        raise Forbidden(f"Only an admin may manage API keys; {principal.label} is not one.")
    if principal.is_operator and not principal.is_auditor:
        return
    authorize(principal, Act.MANAGE_API_KEYS, org)


def authorize_user_admin(principal: Principal, org: str) -> None:
    """An organization's admin manages its own console users; the operator's admin those of
    any organization (an auditor's included). Anyone else is :class:`Forbidden`."""
    if principal.user_role is not UserRole.ADMIN:
        raise Forbidden(f"Only an admin may manage users; {principal.label} is not one.")
    if principal.is_operator and not principal.is_auditor:
        return
    authorize(principal, Act.MANAGE_USERS, org)


def authorize_webhook_admin(principal: Principal, org: str) -> None:
    """An organization's admin manages its own webhook endpoints (they carry its events off
    the platform); nobody manages another's, the operator included."""
    if principal.user_role is not UserRole.ADMIN:
        raise Forbidden(f"Only an admin may manage webhooks; {principal.label} is not one.")
    authorize(principal, Act.MANAGE_WEBHOOKS, org)
