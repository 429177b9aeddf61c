"""Liveness, readiness (models loaded, index reachable)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from api.deps import DeskDep
from rag.errors import NewsdeskError

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz")
def readyz(desk: DeskDep, request: Request) -> JSONResponse:
    if not request.app.state.ready:
        return JSONResponse({"status": "starting"}, status_code=503)
    try:
        stats = desk.index().stats()
    except NewsdeskError as exc:
        return JSONResponse(
            {"status": "unavailable", "error": exc.name, "message": exc.message}, status_code=503
        )
    generator = desk.generator()
    return JSONResponse(
        {
            "status": "ready",
            "index": stats,
            "generator": {"backend": generator.name, "model": generator.model_id},
        }
    )
