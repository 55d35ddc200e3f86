"""What the principal names does not exist, or is not theirs to see."""

from __future__ import annotations

from capillary.domain.errors.base import NotFound


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


class OfferNotFound(NotFound):
    code = "offer_not_found"


class PlatformNotInitialized(NotFound):
    code = "platform_not_initialized"


class ApiKeyNotFound(NotFound):
    code = "api_key_not_found"


class UserNotFound(NotFound):
    code = "user_not_found"


class WebhookNotFound(NotFound):
    code = "webhook_not_found"


class WebhookDeliveryNotFound(NotFound):
    code = "webhook_delivery_not_found"


class ClaimNotFound(NotFound):
    code = "claim_not_found"


class ScoreModelNotFound(NotFound):
    code = "score_model_not_found"


class ScoreNotFound(NotFound):
    code = "score_not_found"
