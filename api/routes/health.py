"""Liveness, readiness (models loaded, index reachable)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from api.deps import DeskDep, is_valid, presented_key
from api.limits import RateLimit
from rag.errors import NewsdeskError

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", dependencies=[RateLimit])
def readyz(desk: DeskDep, request: Request) -> JSONResponse:
    """Ready or not, the default index's counts and how it was built, and the generator. Where
    the index lives is never said; which articles are flagged only to a write key's holder
    (anyone else is told how many)."""
    if not request.app.state.ready:
        return JSONResponse({"status": "starting"}, status_code=503)
    try:
        stats = desk.index().stats()
    except NewsdeskError as exc:
        return JSONResponse(
            {"status": "unavailable", "error": exc.name, "message": exc.public_message},
            status_code=503,
        )
    generator = desk.generator()
    stats.pop("location", None)
    keys = desk.settings.write_keys
    key = presented_key(request)
    if key is None or not is_valid(key, keys):
        stats["flagged"] = len(stats.get("flagged") or {})
    return JSONResponse(
        {
            "status": "ready",
            "index": stats,
            "generator": {"backend": generator.name, "model": generator.model_id},
        }
    )
