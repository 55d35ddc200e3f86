"""Bad input, refused before anything is read or written."""

from __future__ import annotations

from capillary.domain.errors.base import ValidationError


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


class InvalidWebhook(ValidationError):
    """An endpoint's URL, event types or secret that cannot be used."""

    code = "invalid_webhook"


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


class BankFileRefused(ValidationError):
    code = "bank_file_refused"
