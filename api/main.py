"""The HTTP service: `create_app(settings)` builds the app; the lifespan builds the Desk.

Run it with `uvicorn api.main:create_app --factory`. Every domain error is rendered once, here,
as `{"error": name, "message": ...}` with the error's HTTP status.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles

from api.routes import articles, health, search
from rag.config import Settings
from rag.desk import Desk
from rag.errors import NewsdeskError

STATIC = Path(__file__).parent / "static"


def create_app(settings: Settings | None = None, desk: Desk | None = None) -> FastAPI:
    # Models come from packages; a hub look-up would only cost minutes of retries.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.desk = desk or Desk(settings)
        # Load the embedder before the first request rather than during it.
        app.state.desk.embedder  # noqa: B018
        yield

    app = FastAPI(
        title="Newsdesk",
        version="0.1.0",
        summary="Ask questions of the news; every claim cited to its source sentence.",
        lifespan=lifespan,
    )
    app.state.settings = settings

    @app.exception_handler(NewsdeskError)
    async def domain_error(_: Request, exc: NewsdeskError) -> JSONResponse:
        return JSONResponse({"error": exc.name, "message": exc.message}, status_code=exc.status)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()))
        return JSONResponse(
            {"error": "InvalidRequest", "message": f"{where}: {first.get('msg', 'invalid')}"},
            status_code=422,
        )

    app.include_router(health.router)
    app.include_router(search.router)
    app.include_router(articles.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/", include_in_schema=False)
    def home() -> FileResponse:
        return FileResponse(STATIC / "index.html")

    return app
