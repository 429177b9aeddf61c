"""Liveness and readiness."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from api.deps import DeskDep
from rag.errors import NewsdeskError

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz")
def readyz(desk: DeskDep) -> JSONResponse:
    try:
        stats = desk.index().stats()
    except NewsdeskError as exc:
        return JSONResponse(
            {"status": "unavailable", "error": exc.name, "message": exc.message}, status_code=503
        )
    return JSONResponse({"status": "ready", "index": stats})
