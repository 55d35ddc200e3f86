"""The request contradicts what the platform holds."""

from __future__ import annotations

from capillary.domain.errors.base import Conflict


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


class OfferClosed(Conflict):
    code = "offer_closed"


class PlatformExists(Conflict):
    code = "platform_exists"


class UserExists(Conflict):
    code = "user_exists"


class AlreadyRecorded(Conflict):
    code = "already_recorded"


class RestoreTargetInUse(Conflict):
    code = "restore_target_in_use"
