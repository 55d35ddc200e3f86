"""Whole operations that did not go through: batches, imports, verification, backups, the store."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from capillary.domain.errors.base import CapillaryError


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


class ImportRefused(CapillaryError):
    code = "import_refused"


class BooksDisagree(CapillaryError):
    code = "books_disagree"


class BackupRefused(CapillaryError):
    code = "backup_refused"


class SettlementIncomplete(CapillaryError):
    code = "settlement_incomplete"


class StoreUnavailable(CapillaryError):
    code = "store_unavailable"


class SchemaBehind(CapillaryError):
    code = "schema_behind"


class InternalError(CapillaryError):
    code = "internal_error"
