"""Every refusal Capillary can give, in one tree.

Each error has a stable machine-readable ``code`` (part of the public interface: clients
branch on it, the HTTP layer maps it to a status in one table) and a sentence a person can
act on (``str(error)``). Errors carry no transport knowledge.

CapillaryError
├── ValidationError              bad input, refused before anything is read or written
│   ├── InvalidAmount              invalid_amount
│   ├── TooFewLegs                 too_few_legs
│   ├── AccountOnBothSides         account_on_both_sides
│   ├── InvalidIdempotencyKey      invalid_idempotency_key
│   ├── InvalidTimeout             invalid_timeout
│   ├── UnknownCurrency            unknown_currency
│   ├── InvalidPostAmounts         invalid_post_amounts
│   ├── InvalidIdentifier          invalid_identifier
│   ├── InvalidInvoiceNumber       invalid_invoice_number
│   ├── InconsistentAmounts        inconsistent_amounts
│   ├── InvalidQuantity            invalid_quantity
│   ├── OverrideReasonRequired     override_reason_required
│   ├── BelowMinimumFragment       below_minimum_fragment
│   ├── TransferToSelf             transfer_to_self
│   ├── NoTradeReference           no_trade_reference
│   ├── InvalidDate                invalid_date (YYYY-MM-DD only)
│   ├── InvalidId                  invalid_id (digits, 1 to 2^63-1)
│   ├── InvalidRate                invalid_rate (finite, within the configured range)
│   ├── InvalidFile                invalid_file (an import file that cannot be read at all)
│   ├── UsageError                 usage_error (a command mistyped: unknown option, missing one)
│   ├── InvalidDocument            invalid_document (a document's fields, each named)
│   ├── InvalidCursor              invalid_cursor (a list's page cursor not given by us)
│   ├── InvalidWebhook             invalid_webhook (an endpoint's URL, event types or secret)
│   ├── OutOfRange                 out_of_range (a value beyond what the store holds)
│   └── BankFileRefused            bank_file_refused (not an ISO 20022 statement we can read)
├── NotFound
│   ├── UnitNotFound               unit_not_found
│   ├── AccountNotFound            account_not_found
│   ├── TransactionNotFound        transaction_not_found
│   ├── PendingNotFound            pending_not_found
│   ├── OrganizationNotFound       organization_not_found
│   ├── OrderNotFound              order_not_found
│   ├── OrderLineNotFound          order_line_not_found
│   ├── DeliveryNotFound           delivery_not_found
│   ├── InvoiceNotFound            invoice_not_found
│   ├── PayableNotFound            payable_not_found
│   ├── CertificateNotFound        certificate_not_found
│   ├── FragmentNotFound           fragment_not_found
│   ├── CreditLineNotFound         credit_line_not_found
│   ├── OfferNotFound              offer_not_found
│   ├── PlatformNotInitialized     platform_not_initialized
│   ├── ClaimNotFound              claim_not_found
│   ├── ApiKeyNotFound             api_key_not_found
│   ├── WebhookNotFound            webhook_not_found
│   ├── WebhookDeliveryNotFound    webhook_delivery_not_found
│   ├── UserNotFound               user_not_found
│   ├── ScoreModelNotFound         score_model_not_found
│   └── ScoreNotFound              score_not_found (none, or none the principal may see)
├── Conflict                     the request contradicts what the ledger holds
│   ├── UnitExists                 unit_exists
│   ├── AccountExists              account_exists
│   ├── IdempotencyConflict        idempotency_conflict
│   ├── PendingAlreadyResolved     pending_already_resolved
│   ├── PendingExpired             pending_expired
│   ├── NotReversible              transaction_not_reversible
│   ├── AlreadyReversed            already_reversed
│   ├── OrganizationExists         organization_exists
│   ├── UserExists                 user_exists
│   ├── DocumentExists             document_exists
│   ├── DuplicateInvoice           duplicate_invoice
│   ├── OrderCancelled             order_cancelled
│   ├── DeliveryAlreadyAccepted    delivery_already_accepted
│   ├── AlreadyConfirmed           already_confirmed
│   ├── CertificateNotPending      certificate_not_pending
│   ├── FragmentNotActive          fragment_not_active
│   ├── OfferClosed                offer_closed
│   ├── PlatformExists             platform_exists
│   ├── AlreadyRecorded            already_recorded (a unique business fact named twice)
│   └── RestoreTargetInUse         restore_target_in_use (a store is there: --replace it)
├── Refused                      a ledger rule forbids it
│   ├── UnbalancedTransaction      unbalanced_transaction
│   ├── DebitsExceedCredits        debits_exceed_credits
│   ├── CreditsExceedDebits        credits_exceed_debits
│   ├── BalanceOverflow            balance_overflow
│   ├── NoRelationship             no_relationship
│   ├── RoleMissing                role_missing
│   ├── NotMatched                 invoice_not_matched
│   ├── OverPayable                over_payable
│   ├── MaturityReached            maturity_reached
│   ├── MaturityTooLate            maturity_too_late
│   ├── ExceedsFragment            exceeds_fragment
│   ├── CreditLineExceeded         credit_line_exceeded
│   ├── CreditLineExpired          credit_line_expired
│   ├── IssuanceLimitExceeded      issuance_limit_exceeded
│   ├── InsufficientCash           insufficient_cash
│   ├── NotYetDue                  not_yet_due
│   ├── BeforeIssue                before_issue
│   ├── ClockNotSettable           clock_not_settable
│   ├── ClockBackwards             clock_backwards
│   ├── NoIssuanceLimit            no_issuance_limit
│   ├── LimitBelowUsed             limit_below_used
│   ├── CertificateInconsistent    certificate_inconsistent (its fragments do not add up)
│   ├── ClaimNotOpen               claim_not_open
│   ├── TooFewOutcomes             too_few_outcomes (a scorecard needs 10 bad and 10 good)
│   ├── NothingToFit               nothing_to_fit (no feature tells the bad from the good)
│   ├── NoActiveModel              no_active_model (no scoring model is active)
│   └── NoBankAccount              no_bank_account (money leaves only to an account on file)
├── Unauthorized                 no_principal / unknown_principal: nobody, or nobody known, asks
│   ├── BadCredentials             bad_credentials (a console sign-in's login or password)
│   ├── SignInThrottled            sign_in_throttled (too many failed sign-ins: wait; 429)
│   └── SessionEnded               session_ended (signed out, idle or too old: sign in again)
│   ├── NoPrincipal                no_principal
│   └── UnknownPrincipal           unknown_principal
├── Forbidden                    forbidden: the principal may not do this to what it can see
│   ├── NotHolder                  not_holder (moving a fragment someone else holds)
│   └── CsrfRefused                csrf_refused (a console form without its own token)
├── BatchRejected                batch_rejected (atomic batch; ``errors`` lists each item's)
├── ImportRefused                import_refused (every record of a file refused)
├── BooksDisagree                books_disagree (verify found what does not add up)
├── BackupRefused                backup_refused (not a backup, damaged, or its books do not verify)
├── SettlementIncomplete         settlement_incomplete (some certificates could not settle)
├── RetryExhausted               retry_exhausted (contention outlasted the bounded retries)
├── StoreUnavailable             store_unavailable (bad URL, server down, unreadable file)
├── SchemaBehind                 schema_behind (run `capillary db upgrade`)
└── InternalError                internal_error (a fault of ours; nothing was written)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


class CapillaryError(Exception):
    """Base of every refusal. ``code`` is stable; the message is for people."""

    code: str = "capillary_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def as_dict(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message}


class ValidationError(CapillaryError):
    code = "validation_error"


class NotFound(CapillaryError):
    code = "not_found"


class Conflict(CapillaryError):
    code = "conflict"


class Refused(CapillaryError):
    code = "refused"


class InvalidAmount(ValidationError):
    code = "invalid_amount"


class TooFewLegs(ValidationError):
    code = "too_few_legs"


class AccountOnBothSides(ValidationError):
    code = "account_on_both_sides"


class InvalidIdempotencyKey(ValidationError):
    code = "invalid_idempotency_key"


class InvalidTimeout(ValidationError):
    code = "invalid_timeout"


class UnknownCurrency(ValidationError):
    code = "unknown_currency"


class InvalidPostAmounts(ValidationError):
    code = "invalid_post_amounts"


class InvalidIdentifier(ValidationError):
    code = "invalid_identifier"


class InvalidInvoiceNumber(ValidationError):
    code = "invalid_invoice_number"


class InconsistentAmounts(ValidationError):
    code = "inconsistent_amounts"


class InvalidQuantity(ValidationError):
    code = "invalid_quantity"


class OverrideReasonRequired(ValidationError):
    code = "override_reason_required"


class BelowMinimumFragment(ValidationError):
    code = "below_minimum_fragment"


class TransferToSelf(ValidationError):
    code = "transfer_to_self"


class NoTradeReference(ValidationError):
    code = "no_trade_reference"


class UnitNotFound(NotFound):
    code = "unit_not_found"


class AccountNotFound(NotFound):
    code = "account_not_found"


class TransactionNotFound(NotFound):
    code = "transaction_not_found"


class PendingNotFound(NotFound):
    code = "pending_not_found"


class OrganizationNotFound(NotFound):
    code = "organization_not_found"


class OrderNotFound(NotFound):
    code = "order_not_found"


class OrderLineNotFound(NotFound):
    code = "order_line_not_found"


class DeliveryNotFound(NotFound):
    code = "delivery_not_found"


class InvoiceNotFound(NotFound):
    code = "invoice_not_found"


class PayableNotFound(NotFound):
    code = "payable_not_found"


class CertificateNotFound(NotFound):
    code = "certificate_not_found"


class FragmentNotFound(NotFound):
    code = "fragment_not_found"


class CreditLineNotFound(NotFound):
    code = "credit_line_not_found"


class UnitExists(Conflict):
    code = "unit_exists"


class AccountExists(Conflict):
    code = "account_exists"


class IdempotencyConflict(Conflict):
    code = "idempotency_conflict"


class PendingAlreadyResolved(Conflict):
    code = "pending_already_resolved"


class PendingExpired(Conflict):
    code = "pending_expired"


class NotReversible(Conflict):
    code = "transaction_not_reversible"


class AlreadyReversed(Conflict):
    code = "already_reversed"


class OrganizationExists(Conflict):
    code = "organization_exists"


class DocumentExists(Conflict):
    code = "document_exists"


class DuplicateInvoice(Conflict):
    code = "duplicate_invoice"


class OrderCancelled(Conflict):
    code = "order_cancelled"


class DeliveryAlreadyAccepted(Conflict):
    code = "delivery_already_accepted"


class AlreadyConfirmed(Conflict):
    code = "already_confirmed"


class CertificateNotPending(Conflict):
    code = "certificate_not_pending"


class FragmentNotActive(Conflict):
    code = "fragment_not_active"


class UnbalancedTransaction(Refused):
    code = "unbalanced_transaction"


class DebitsExceedCredits(Refused):
    code = "debits_exceed_credits"
    account: str = ""  # org:code:unit of the account that would break its constraint


class CreditsExceedDebits(Refused):
    code = "credits_exceed_debits"
    account: str = ""


class BalanceOverflow(Refused):
    code = "balance_overflow"


class NoRelationship(Refused):
    code = "no_relationship"


class RoleMissing(Refused):
    code = "role_missing"


class NotMatched(Refused):
    code = "invoice_not_matched"


class OverPayable(Refused):
    code = "over_payable"


class MaturityReached(Refused):
    code = "maturity_reached"


class MaturityTooLate(Refused):
    code = "maturity_too_late"


class ExceedsFragment(Refused):
    code = "exceeds_fragment"


class CreditLineExceeded(Refused):
    code = "credit_line_exceeded"


class CreditLineExpired(Refused):
    code = "credit_line_expired"


class IssuanceLimitExceeded(Refused):
    code = "issuance_limit_exceeded"


class InsufficientCash(Refused):
    code = "insufficient_cash"


@dataclass(frozen=True, slots=True)
class ItemError:
    """One refused item of a batch: its position, idempotency key and error."""

    index: int
    key: str
    error: CapillaryError

    @property
    def code(self) -> str:
        return self.error.code


class BatchRejected(CapillaryError):
    code = "batch_rejected"

    def __init__(self, errors: Sequence[ItemError]) -> None:
        first = errors[0]
        super().__init__(
            f"The batch was not posted: {len(errors)} item(s) refused; the first, item "
            f"{first.index} ({first.key!r}), because: {first.error.message}"
        )
        self.errors = tuple(errors)


class RetryExhausted(CapillaryError):
    code = "retry_exhausted"


class OfferNotFound(NotFound):
    code = "offer_not_found"


class PlatformNotInitialized(NotFound):
    code = "platform_not_initialized"


class OfferClosed(Conflict):
    code = "offer_closed"


class PlatformExists(Conflict):
    code = "platform_exists"


class NotYetDue(Refused):
    code = "not_yet_due"


class BeforeIssue(Refused):
    code = "before_issue"


class ClockNotSettable(Refused):
    code = "clock_not_settable"


class ClockBackwards(Refused):
    code = "clock_backwards"


class Unauthorized(CapillaryError):
    code = "unauthorized"


class ApiKeyNotFound(NotFound):
    code = "api_key_not_found"


class UserNotFound(NotFound):
    code = "user_not_found"


class UserExists(Conflict):
    code = "user_exists"


class BadCredentials(Unauthorized):
    code = "bad_credentials"


class SignInThrottled(Unauthorized):
    code = "sign_in_throttled"


class SessionEnded(Unauthorized):
    code = "session_ended"


class WebhookNotFound(NotFound):
    code = "webhook_not_found"


class WebhookDeliveryNotFound(NotFound):
    code = "webhook_delivery_not_found"


class InvalidWebhook(ValidationError):
    """An endpoint's URL, event types or secret that cannot be used."""

    code = "invalid_webhook"


class NoPrincipal(Unauthorized):
    code = "no_principal"


class UnknownPrincipal(Unauthorized):
    code = "unknown_principal"


class Forbidden(CapillaryError):
    code = "forbidden"


class NotHolder(Forbidden):
    code = "not_holder"


class CsrfRefused(Forbidden):
    code = "csrf_refused"


class InvalidDate(ValidationError):
    code = "invalid_date"


class InvalidId(ValidationError):
    code = "invalid_id"


class InvalidRate(ValidationError):
    code = "invalid_rate"


class InvalidFile(ValidationError):
    code = "invalid_file"


class UsageError(ValidationError):
    code = "usage_error"


class InvalidDocument(ValidationError):
    """A document sent on its own (not in a file) with bad fields: each named."""

    code = "invalid_document"

    def __init__(self, message: str, fields: list[tuple[str, str, str]] | None = None) -> None:
        super().__init__(message)
        self.fields = fields or []  # (field, reason, code)


class InvalidCursor(ValidationError):
    code = "invalid_cursor"


class OutOfRange(ValidationError):
    code = "out_of_range"


class AlreadyRecorded(Conflict):
    code = "already_recorded"


class ClaimNotFound(NotFound):
    code = "claim_not_found"


class CertificateInconsistent(Refused):
    code = "certificate_inconsistent"


class LimitBelowUsed(Refused):
    code = "limit_below_used"


class NoIssuanceLimit(Refused):
    code = "no_issuance_limit"


class ClaimNotOpen(Refused):
    code = "claim_not_open"


class ScoreModelNotFound(NotFound):
    code = "score_model_not_found"


class ScoreNotFound(NotFound):
    code = "score_not_found"


class TooFewOutcomes(Refused):
    code = "too_few_outcomes"


class NothingToFit(Refused):
    code = "nothing_to_fit"


class NoActiveModel(Refused):
    code = "no_active_model"


class ImportRefused(CapillaryError):
    code = "import_refused"


class BooksDisagree(CapillaryError):
    code = "books_disagree"


class BackupRefused(CapillaryError):
    code = "backup_refused"


class RestoreTargetInUse(Conflict):
    code = "restore_target_in_use"


class BankFileRefused(ValidationError):
    code = "bank_file_refused"


class NoBankAccount(Refused):
    code = "no_bank_account"


class SettlementIncomplete(CapillaryError):
    code = "settlement_incomplete"


class StoreUnavailable(CapillaryError):
    code = "store_unavailable"


class SchemaBehind(CapillaryError):
    code = "schema_behind"


class InternalError(CapillaryError):
    code = "internal_error"


def error_for(code: str, message: str) -> CapillaryError:
    """The error whose ``code`` is ``code``, saying ``message`` (a recorded refusal, read
    back); an unknown code gives the base class."""
    pending: list[type[CapillaryError]] = [CapillaryError]
    while pending:
        cls = pending.pop()
        if cls.code == code and cls is not BatchRejected:
            return cls(message)
        pending.extend(cls.__subclasses__())
    return CapillaryError(message)
