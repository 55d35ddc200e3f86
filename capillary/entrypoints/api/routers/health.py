"""Liveness, readiness and metrics: for the operator's orchestrator and Prometheus."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from capillary.bootstrap import schema_state
from capillary.domain.errors import CapillaryError
from capillary.entrypoints.api.deps import Services

router = APIRouter(tags=["operations"])


@router.get("/healthz", summary="The process is up")
def healthz() -> dict[str, str]:
    """Answers while the process runs; says nothing of the store."""
    return {"status": "ok"}


@router.get(
    "/readyz",
    summary="The store is reachable and its schema current",
    responses={503: {"description": "Not ready: the store is down or behind this version."}},
)
def readyz(services: Services) -> Response:
    """Ready when the database answers and its schema is the revision this version needs."""
    try:
        current, head = schema_state(services.ledger.db)
    except CapillaryError as exc:
        return JSONResponse({"status": "unavailable", "detail": exc.message}, status_code=503)
    except Exception:  # any driver failure: not ready, without its details
        return JSONResponse(
            {"status": "unavailable", "detail": "The store does not answer."}, status_code=503
        )
    if current != head:
        return JSONResponse(
            {"status": "schema_behind", "detail": f"Schema at {current}; {head} is needed."},
            status_code=503,
        )
    return JSONResponse({"status": "ready", "schema": head})


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
def metrics(request: Request) -> Response:
    body, content_type = request.app.state.metrics.render()
    return Response(body, media_type=content_type)
