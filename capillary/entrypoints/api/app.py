"""The FastAPI application: ``/v1`` routers by capability, problem+json errors, request ids,
JSON logs, metrics, health and readiness."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from capillary.bootstrap import Platform, open_platform
from capillary.domain.errors import CapillaryError
from capillary.entrypoints.api.limits import BodyLimit
from capillary.entrypoints.api.observability import (
    Metrics,
    RequestContext,
    configure_logging,
    log,
    log_level,
)
from capillary.entrypoints.api.problems import PROBLEM_JSON, pointer, problem, status_of
from capillary.entrypoints.api.routers import (
    bank,
    cash,
    certificates,
    credit,
    events,
    financing,
    health,
    keys,
    ledger,
    market,
    market_standing,
    parties,
    platform,
    scoring,
    settlement,
    trade,
)
from capillary.entrypoints.api.schemas.common import Problem
from capillary.entrypoints.web import auth as console_auth
from capillary.entrypoints.web import (
    core,
    core_programmes,
    funder,
    holdings,
    invoices,
    supplier,
)
from capillary.entrypoints.web import market as console_market
from capillary.entrypoints.web import platform as console_platform
from capillary.entrypoints.web import users as console_users
from capillary.entrypoints.web.errors import error_page, is_console, sign_in_first
from capillary.entrypoints.web.session import SignInNeeded

STATIC = Path(__file__).resolve().parents[1] / "web" / "static"

DESCRIPTION = """Capillary's API: trade, payable certificates, financing, settlement, cash
and the ledger of a supply-chain finance platform.

* **Authentication**: `Authorization: Bearer cap_<id>_<secret>`, an API key of your
  organization (`capillary key create`). Scopes: `read`, `write`, `admin`.
* **Idempotency**: every POST carries an `Idempotency-Key` header; a retry with the same key
  and body returns the first answer (with `Idempotent-Replayed: true`), the same key with
  another body is `409 idempotency_conflict`.
* **Money** is `{"amount": "1250.00", "currency": "CNY"}`: major units as a string.
  Rates are decimal strings (`"0.045"` is 4.5% a year); dates are ISO 8601.
* **Errors** are RFC 9457 `application/problem+json` with a stable `code`.
* **Lists** are pages: `?limit=` (up to 500) and the opaque `?cursor=` of the previous
  page's `next`.
"""

#: The error answers every authenticated route may give, for the spec.
COMMON_ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": Problem, "description": text, "content": {PROBLEM_JSON: {}}}
    for status, text in (
        (401, "No API key, or an unknown or revoked one."),
        (403, "The key's organization or scope may not do this."),
        (422, "The request is malformed or the domain refuses it."),
    )
}


def create_app(services: Platform | None) -> FastAPI:
    """The API over ``services`` (``None``: an application that only describes itself, for
    writing the spec)."""
    app = FastAPI(
        title="Capillary",
        version="1",
        description=DESCRIPTION,
        openapi_url="/openapi.json",
        docs_url="/docs",
        redoc_url=None,
    )
    app.state.platform = services
    metrics = Metrics(services)
    app.state.metrics = metrics
    app.openapi = lambda: _spec(app)  # type: ignore[method-assign]
    for router in (parties, keys, trade, credit, cash, certificates, financing, settlement,
                   ledger, platform, events, market, market_standing, scoring,
                   bank):  # fmt: skip
        app.include_router(router.router, prefix="/v1", responses=COMMON_ERRORS)
    app.include_router(health.router)
    app.include_router(console_auth.router)
    app.include_router(holdings.router)
    app.include_router(supplier.router)
    app.include_router(console_users.router)
    app.include_router(core.router)
    app.include_router(core_programmes.router)
    app.include_router(console_market.router)
    app.include_router(funder.router)
    app.include_router(console_platform.router)
    app.include_router(invoices.router)
    app.mount("/console/static", StaticFiles(directory=STATIC), name="console-static")

    @app.exception_handler(SignInNeeded)
    async def sign_in(request: Request, exc: SignInNeeded) -> Response:
        return sign_in_first(exc)

    @app.exception_handler(CapillaryError)
    async def domain_error(request: Request, exc: CapillaryError) -> Response:
        status = status_of(exc.code)
        if is_console(request):
            return error_page(request, status, exc.message, code=exc.code)
        if status >= 500 and exc.code == "internal_error":
            log.error("internal_error", detail=exc.message)
        headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
        return problem(status, exc.code, exc.message, request_id=_request_id(request),
                       headers=headers)  # fmt: skip

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        errors = [
            {"pointer": pointer(err.get("loc", ())), "detail": str(err.get("msg", "invalid"))}
            for err in exc.errors()
        ]
        if is_console(request):
            return error_page(request, 422, "; ".join(f"{e['pointer']}: {e['detail']}"
                                                       for e in errors[:5]))  # fmt: skip
        missing_key = any(
            e["pointer"].lower() == "/header/idempotency-key" for e in errors
        ) and all(e["pointer"].lower() == "/header/idempotency-key" for e in errors)
        if missing_key:
            return problem(400, "idempotency_key_required",
                           "Every POST carries an Idempotency-Key header (1 to 200 characters).",
                           request_id=_request_id(request), errors=errors)  # fmt: skip
        return problem(422, "invalid_request", "The request does not match its schema: "
                       + "; ".join(f"{e['pointer']}: {e['detail']}" for e in errors[:5]),
                       request_id=_request_id(request), errors=errors)  # fmt: skip

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        code = {404: "not_found", 405: "method_not_allowed", 413: "payload_too_large"}.get(
            exc.status_code, "invalid_request"
        )
        detail = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
        if is_console(request):
            return error_page(request, exc.status_code, detail)
        if exc.status_code == 404 and detail == "Not Found":
            detail = f"There is no {request.url.path} here; the API is under /v1 (see /docs)."
        return problem(exc.status_code, code, detail, request_id=_request_id(request),
                       headers=getattr(exc, "headers", None))  # fmt: skip

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        request_id = _request_id(request)
        log.exception("unhandled", error=type(exc).__name__)
        detail = (f"Something went wrong on our side; nothing you sent is at fault. Quote "
                  f"request {request_id} when you report it.")  # fmt: skip
        if is_console(request):
            return error_page(request, 500, detail)
        return problem(500, "internal_error", detail, request_id=request_id)

    app.add_middleware(BodyLimit)
    app.add_middleware(RequestContext, metrics=metrics)  # outermost: ids and metrics for all
    return app


#: Error answers by kind of operation, beyond :data:`COMMON_ERRORS`.
_WRITE_ERRORS = {
    "400": "No Idempotency-Key header.",
    "409": "The same Idempotency-Key with another body, or the request contradicts the state.",
}
_FOUND_ERRORS = {"404": "Not found, or not yours to see (another organization's is not found)."}


def _spec(app: FastAPI) -> dict[str, Any]:
    """The OpenAPI document, with each operation's error answers complete: a write may be
    400 and 409, anything naming a resource 404; each error is a problem+json."""
    if app.openapi_schema:
        return app.openapi_schema
    spec = get_openapi(title=app.title, version=app.version, description=app.description,
                       routes=app.routes)  # fmt: skip
    problem_ref = {"$ref": "#/components/schemas/Problem"}
    for path, operations in spec.get("paths", {}).items():
        for method, op in operations.items():
            if not path.startswith("/v1/"):
                continue
            extra = dict(_WRITE_ERRORS) if method in ("post", "put", "patch") else {}
            if "{" in path or method == "post":
                extra.update(_FOUND_ERRORS)
            responses = op.setdefault("responses", {})
            for status, text in extra.items():
                responses.setdefault(status, {"description": text, "content": {
                    PROBLEM_JSON: {"schema": problem_ref}}})  # fmt: skip
    app.openapi_schema = spec
    return spec


def _request_id(request: Request) -> str | None:
    state: dict[str, Any] = request.scope.get("state", {})
    value = state.get("request_id")
    return str(value) if value is not None else None


def spec_text() -> str:
    """The OpenAPI document as checked in (``docs/openapi.json``): sorted, indented, ending
    in a newline, so a change of contract is a readable diff."""
    return (
        json.dumps(create_app(None).openapi(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    )


def app_from_environment() -> FastAPI:
    """The application ``capillary serve`` runs in each worker: the store named by
    ``CAPILLARY_DATABASE_URL`` (default ``capillary.db``), its schema as it is."""
    configure_logging(log_level())
    return create_app(open_platform(os.environ.get("CAPILLARY_DATABASE_URL"), upgrade=False))
