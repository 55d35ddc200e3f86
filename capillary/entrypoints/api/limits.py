"""How much a request may send: a JSON body at most 4 MiB, an uploaded import file at most
256 MiB. A larger declared length is refused before it is read (413 ``payload_too_large``);
a body without a length is counted as it arrives and cut off at the limit."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from capillary.entrypoints.api.problems import problem

JSON_LIMIT = 4 * 1024 * 1024
UPLOAD_LIMIT = 256 * 1024 * 1024


class TooLarge(HTTPException):
    """Raised from ``receive`` when a body outgrows its limit: an HTTP error, so the
    framework answers it as one (413) wherever the body is being read."""

    def __init__(self, limit: int) -> None:
        what = "an import file" if limit == UPLOAD_LIMIT else "a request body"
        super().__init__(413, f"{what.capitalize()} is at most {limit // (1024 * 1024)} MiB.")


def _limit(scope: Scope) -> int:
    return UPLOAD_LIMIT if scope["path"].startswith("/v1/imports/") else JSON_LIMIT


class BodyLimit:
    """Pure ASGI middleware: the size limits above."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = _limit(scope)
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            await _refuse(scope, receive, send, limit)
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise TooLarge(limit)
            return message

        try:
            await self.app(scope, counted, send)
        except TooLarge:
            await _refuse(scope, receive, send, limit)


async def _refuse(scope: Scope, receive: Receive, send: Send, limit: int) -> None:
    state = scope.get("state", {})
    request_id = state.get("request_id") if isinstance(state, dict) else None
    what = "an import file" if limit == UPLOAD_LIMIT else "a request body"
    answer = problem(413, "payload_too_large",
                     f"{what.capitalize()} is at most {limit // (1024 * 1024)} MiB.",
                     request_id=request_id)  # fmt: skip
    await answer(scope, receive, send)
