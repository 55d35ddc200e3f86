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

from capillary.domain.errors.access import (
    BadCredentials,
    CsrfRefused,
    NoPrincipal,
    NotHolder,
    SessionEnded,
    SignInThrottled,
    UnknownPrincipal,
)
from capillary.domain.errors.base import (
    CapillaryError,
    Conflict,
    Forbidden,
    NotFound,
    Refused,
    Unauthorized,
    ValidationError,
)
from capillary.domain.errors.conflict import (
    AccountExists,
    AlreadyConfirmed,
    AlreadyRecorded,
    AlreadyReversed,
    CertificateNotPending,
    DeliveryAlreadyAccepted,
    DocumentExists,
    DuplicateInvoice,
    FragmentNotActive,
    IdempotencyConflict,
    NotReversible,
    OfferClosed,
    OrderCancelled,
    OrganizationExists,
    PendingAlreadyResolved,
    PendingExpired,
    PlatformExists,
    RestoreTargetInUse,
    UnitExists,
    UserExists,
)
from capillary.domain.errors.invalid import (
    AccountOnBothSides,
    BankFileRefused,
    BelowMinimumFragment,
    InconsistentAmounts,
    InvalidAmount,
    InvalidCursor,
    InvalidDate,
    InvalidDocument,
    InvalidFile,
    InvalidId,
    InvalidIdempotencyKey,
    InvalidIdentifier,
    InvalidInvoiceNumber,
    InvalidPostAmounts,
    InvalidQuantity,
    InvalidRate,
    InvalidTimeout,
    InvalidWebhook,
    NoTradeReference,
    OutOfRange,
    OverrideReasonRequired,
    TooFewLegs,
    TransferToSelf,
    UnknownCurrency,
    UsageError,
)
from capillary.domain.errors.not_found import (
    AccountNotFound,
    ApiKeyNotFound,
    CertificateNotFound,
    ClaimNotFound,
    CreditLineNotFound,
    DeliveryNotFound,
    FragmentNotFound,
    InvoiceNotFound,
    OfferNotFound,
    OrderLineNotFound,
    OrderNotFound,
    OrganizationNotFound,
    PayableNotFound,
    PendingNotFound,
    PlatformNotInitialized,
    ScoreModelNotFound,
    ScoreNotFound,
    TransactionNotFound,
    UnitNotFound,
    UserNotFound,
    WebhookDeliveryNotFound,
    WebhookNotFound,
)
from capillary.domain.errors.operations import (
    BackupRefused,
    BatchRejected,
    BooksDisagree,
    ImportRefused,
    InternalError,
    ItemError,
    RetryExhausted,
    SchemaBehind,
    SettlementIncomplete,
    StoreUnavailable,
)
from capillary.domain.errors.refused import (
    BalanceOverflow,
    BeforeIssue,
    CertificateInconsistent,
    ClaimNotOpen,
    ClockBackwards,
    ClockNotSettable,
    CreditLineExceeded,
    CreditLineExpired,
    CreditsExceedDebits,
    DebitsExceedCredits,
    ExceedsFragment,
    InsufficientCash,
    IssuanceLimitExceeded,
    LimitBelowUsed,
    MaturityReached,
    MaturityTooLate,
    NoActiveModel,
    NoBankAccount,
    NoIssuanceLimit,
    NoRelationship,
    NothingToFit,
    NotMatched,
    NotYetDue,
    OverPayable,
    RoleMissing,
    TooFewOutcomes,
    UnbalancedTransaction,
)

__all__ = [
    "AccountExists",
    "AccountNotFound",
    "AccountOnBothSides",
    "AlreadyConfirmed",
    "AlreadyRecorded",
    "AlreadyReversed",
    "ApiKeyNotFound",
    "BackupRefused",
    "BadCredentials",
    "BalanceOverflow",
    "BankFileRefused",
    "BatchRejected",
    "BeforeIssue",
    "BelowMinimumFragment",
    "BooksDisagree",
    "CapillaryError",
    "CertificateInconsistent",
    "CertificateNotFound",
    "CertificateNotPending",
    "ClaimNotFound",
    "ClaimNotOpen",
    "ClockBackwards",
    "ClockNotSettable",
    "Conflict",
    "CreditLineExceeded",
    "CreditLineExpired",
    "CreditLineNotFound",
    "CreditsExceedDebits",
    "CsrfRefused",
    "DebitsExceedCredits",
    "DeliveryAlreadyAccepted",
    "DeliveryNotFound",
    "DocumentExists",
    "DuplicateInvoice",
    "ExceedsFragment",
    "Forbidden",
    "FragmentNotActive",
    "FragmentNotFound",
    "IdempotencyConflict",
    "ImportRefused",
    "InconsistentAmounts",
    "InsufficientCash",
    "InternalError",
    "InvalidAmount",
    "InvalidCursor",
    "InvalidDate",
    "InvalidDocument",
    "InvalidFile",
    "InvalidId",
    "InvalidIdempotencyKey",
    "InvalidIdentifier",
    "InvalidInvoiceNumber",
    "InvalidPostAmounts",
    "InvalidQuantity",
    "InvalidRate",
    "InvalidTimeout",
    "InvalidWebhook",
    "InvoiceNotFound",
    "IssuanceLimitExceeded",
    "ItemError",
    "LimitBelowUsed",
    "MaturityReached",
    "MaturityTooLate",
    "NoActiveModel",
    "NoBankAccount",
    "NoIssuanceLimit",
    "NoPrincipal",
    "NoRelationship",
    "NoTradeReference",
    "NotFound",
    "NotHolder",
    "NotMatched",
    "NotReversible",
    "NotYetDue",
    "NothingToFit",
    "OfferClosed",
    "OfferNotFound",
    "OrderCancelled",
    "OrderLineNotFound",
    "OrderNotFound",
    "OrganizationExists",
    "OrganizationNotFound",
    "OutOfRange",
    "OverPayable",
    "OverrideReasonRequired",
    "PayableNotFound",
    "PendingAlreadyResolved",
    "PendingExpired",
    "PendingNotFound",
    "PlatformExists",
    "PlatformNotInitialized",
    "Refused",
    "RestoreTargetInUse",
    "RetryExhausted",
    "RoleMissing",
    "SchemaBehind",
    "ScoreModelNotFound",
    "ScoreNotFound",
    "SessionEnded",
    "SettlementIncomplete",
    "SignInThrottled",
    "StoreUnavailable",
    "TooFewLegs",
    "TooFewOutcomes",
    "TransactionNotFound",
    "TransferToSelf",
    "Unauthorized",
    "UnbalancedTransaction",
    "UnitExists",
    "UnitNotFound",
    "UnknownCurrency",
    "UnknownPrincipal",
    "UsageError",
    "UserExists",
    "UserNotFound",
    "ValidationError",
    "WebhookDeliveryNotFound",
    "WebhookNotFound",
    "error_for",
]


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
