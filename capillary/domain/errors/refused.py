"""A rule of the ledger, the trade or the credit forbids it."""

from __future__ import annotations

from capillary.domain.errors.base import Refused


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


class NotYetDue(Refused):
    code = "not_yet_due"


class BeforeIssue(Refused):
    code = "before_issue"


class ClockNotSettable(Refused):
    code = "clock_not_settable"


class ClockBackwards(Refused):
    code = "clock_backwards"


class CertificateInconsistent(Refused):
    code = "certificate_inconsistent"


class LimitBelowUsed(Refused):
    code = "limit_below_used"


class NoIssuanceLimit(Refused):
    code = "no_issuance_limit"


class ClaimNotOpen(Refused):
    code = "claim_not_open"


class TooFewOutcomes(Refused):
    code = "too_few_outcomes"


class NothingToFit(Refused):
    code = "nothing_to_fit"


class NoActiveModel(Refused):
    code = "no_active_model"


class NoBankAccount(Refused):
    code = "no_bank_account"
