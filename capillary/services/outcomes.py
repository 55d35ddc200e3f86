"""What a batch of documents came to, item by item (shared by every bulk use case)."""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass
from typing import Any

from capillary.domain.errors import CapillaryError, error_for


class Fate(enum.StrEnum):
    CREATED = "created"
    UNCHANGED = "unchanged"  # already there, identical: a re-import changes nothing
    REFUSED = "refused"


@dataclass(frozen=True, slots=True)
class Outcome:
    index: int  # position in the batch
    key: str  # the document's business key, for people
    fate: Fate
    error: CapillaryError | None = None


def audit_row(
    entity: str, key: str, action: str, actor: str, at: int, detail: Any = None
) -> dict[str, Any]:
    return {
        "entity": entity,
        "entity_key": key,
        "action": action,
        "actor": actor,
        "at": at,
        "detail": None if detail is None else json.dumps(detail, default=str, sort_keys=True),
    }


@dataclass(frozen=True, slots=True)
class OutcomeRecord:
    """An :class:`Outcome` as an idempotency record keeps it."""

    index: int
    key: str
    fate: Fate
    code: str | None = None
    message: str | None = None


def to_records(outcomes: list[Outcome]) -> list[OutcomeRecord]:
    return [
        OutcomeRecord(o.index, o.key, o.fate, *((o.error.code, o.error.message) if o.error
                                                else (None, None)))
        for o in outcomes
    ]  # fmt: skip


def from_records(records: list[OutcomeRecord]) -> list[Outcome]:
    return [
        Outcome(r.index, r.key, r.fate,
                error_for(r.code, r.message or "") if r.code is not None else None)
        for r in records
    ]  # fmt: skip


def refused_first(outcomes: list[Outcome], atomic: bool) -> list[Outcome]:
    """In an atomic batch the first refusal is raised inside the unit of work, so nothing
    is written (a single document is such a batch); otherwise refusals are outcomes."""
    if atomic:
        for o in outcomes:
            if o.error is not None:
                raise o.error
    return outcomes
