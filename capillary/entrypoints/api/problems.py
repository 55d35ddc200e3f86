"""Errors as RFC 9457 problem details (``application/problem+json``), with the domain's
stable ``code``, a ``detail`` sentence, and for bad input each field's JSON pointer.

The code → status mapping is :data:`STATUS`, one table built from the error tree; an error
it does not know is a 500 that names the request id and shows nothing else."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from fastapi.responses import JSONResponse

from capillary.domain import errors as e

PROBLEM_JSON = "application/problem+json"

#: Each family of the error tree and the HTTP status it answers with; a code not listed by
#: name takes its family's.
_FAMILIES: Sequence[tuple[type[e.CapillaryError], int]] = (
    (e.Unauthorized, 401),
    (e.Forbidden, 403),
    (e.NotFound, 404),
    (e.Conflict, 409),
    (e.ValidationError, 422),
    (e.Refused, 422),
)

#: Codes whose status is not their family's.
_BY_CODE: Mapping[str, int] = {
    "platform_not_initialized": 503,
    "store_unavailable": 503,
    "schema_behind": 503,
    "retry_exhausted": 503,
    "internal_error": 500,
    "batch_rejected": 422,
    "import_refused": 422,
    "books_disagree": 409,
    "backup_refused": 422,
    "settlement_incomplete": 409,
    "invalid_request": 422,
    "idempotency_key_required": 400,
    "not_found": 404,
    "method_not_allowed": 405,
    "payload_too_large": 413,
    "sign_in_throttled": 429,
}


def _all_errors() -> list[type[e.CapillaryError]]:
    seen: list[type[e.CapillaryError]] = []
    todo: list[type[e.CapillaryError]] = [e.CapillaryError]
    while todo:
        kind = todo.pop()
        seen.append(kind)
        todo.extend(kind.__subclasses__())
    return seen


def _status_of(kind: type[e.CapillaryError]) -> int:
    code = getattr(kind, "code", None)
    if isinstance(code, str) and code in _BY_CODE:
        return _BY_CODE[code]
    for family, status in _FAMILIES:
        if issubclass(kind, family):
            return status
    return 500


#: The one table: every error code the API can answer with, and its status.
STATUS: dict[str, int] = {
    **{k.code: _status_of(k) for k in _all_errors() if isinstance(getattr(k, "code", None), str)},
    **_BY_CODE,
}


def status_of(code: str) -> int:
    return STATUS.get(code, 500)


def problem(
    status: int,
    code: str,
    detail: str,
    *,
    request_id: str | None,
    errors: list[dict[str, str]] | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": f"https://capillary.dev/problems/{code}",
        "title": code.replace("_", " ").capitalize(),
        "status": status,
        "code": code,
        "detail": detail,
    }
    if request_id is not None:
        body["request_id"] = request_id
    if errors:
        body["errors"] = errors
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def pointer(location: Sequence[str | int]) -> str:
    """A validation error's location (``("body", "lines", 0, "quantity")``) as a JSON
    pointer into what was sent (``/lines/0/quantity``); headers and query parameters keep
    their place (``/header/idempotency-key``)."""
    parts = list(location)
    if parts and parts[0] == "body":
        parts = parts[1:]
    return "/" + "/".join(str(p).replace("~", "~0").replace("/", "~1") for p in parts)
