"""The HTTP service: `create_app(settings)` builds the app; the lifespan builds the Desk.

Run it with `uvicorn api.main:create_app --factory`. Every domain error is rendered once, here,
as `{"error": name, "message": ...}` with the error's HTTP status (and Retry-After where
waiting helps).
"""

from __future__ import annotations

import os
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from pathlib import Path

import anyio
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import FileResponse, JSONResponse, Response
from starlette.exceptions import HTTPException

from api.limits import TOO_LARGE, BodyLimit, RateLimit, RateLimiter, body_too_large
from api.metrics import Metrics
from api.routes import articles, ask, feeds, health, openai_compat, search
from api.schemas import ErrorOut
from rag.config import Settings
from rag.desk import Desk
from rag.errors import NewsdeskError
from rag.reading import question

STATIC = Path(__file__).parent / "static"
# Every route may answer with a named error (`ErrorOut`): the schema says so, for every client
# generated from it. 500 stands for a corrupt index or model file, the server's own fault.
ERRORS = {
    status: {"model": ErrorOut, "description": description}
    for status, description in {
        400: "Bad request: unreadable or malformed body, or bad input (named)",
        401: "A key is needed",
        403: "The key is not valid here, or writes are off",
        404: "No such index, article or route",
        405: "Method not allowed",
        409: "Conflict with what the index holds",
        413: "Body or field too large",
        422: "A field is invalid (named)",
        429: "Rate limited; see Retry-After",
        500: "Corrupt index or model file",
        502: "A backend or fetched page answered badly",
        503: "Busy or not ready; see Retry-After",
        504: "A backend timed out",
    }.items()
}


def error_response(name: str, message: str, status: int, retry: int | None = None) -> JSONResponse:
    headers = {"Retry-After": str(retry)} if retry is not None else None
    return JSONResponse({"error": name, "message": message}, status_code=status, headers=headers)


def _warm_default_index(desk: Desk) -> None:
    """Build the default index's BM25 and load the question parser before the first request; a
    missing index is /readyz's to report, not the startup's."""
    question.warm()
    with suppress(NewsdeskError):
        desk.retriever().warm()


def _start_watcher(desk: Desk) -> tuple[threading.Event, threading.Thread]:
    """Poll the feeds in a thread beside the service (`NEWSDESK_WATCH_FEEDS=true`)."""
    from rag.feeds import watch

    stop = threading.Event()
    thread = threading.Thread(
        target=watch, args=(desk.settings, desk.ingest_articles, None, stop),
        name="newsdesk-feeds", daemon=True,
    )  # fmt: skip
    thread.start()
    return stop, thread


def _unreadable_body(cause: BaseException | None) -> tuple[str, str] | None:
    """Why a JSON body could not be read, named: its bytes, or its depth."""
    if isinstance(cause, UnicodeDecodeError):
        return "InvalidEncoding", f"the body is not UTF-8 ({cause.reason} at byte {cause.start})"
    if isinstance(cause, RecursionError):
        return "BodyTooDeep", "the JSON body nests too deeply to be read"
    return None


def create_app(settings: Settings | None = None, desk: Desk | None = None) -> FastAPI:
    # Models come from packages; a hub look-up would only cost minutes of retries.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.desk = desk or Desk(settings)
        # Load the embedder and the generator before the first request, not during it.
        await anyio.to_thread.run_sync(lambda: app.state.desk.embedder)
        await anyio.to_thread.run_sync(_warm_default_index, app.state.desk)
        await anyio.to_thread.run_sync(app.state.desk.generator)
        watcher = _start_watcher(app.state.desk) if settings.watch_feeds else None
        app.state.ready = True
        yield
        if watcher is not None:
            watcher[0].set()
            await anyio.to_thread.run_sync(watcher[1].join, 30)
        app.state.desk.close()

    app = FastAPI(
        title="Newsdesk",
        version="0.1.0",
        summary="Ask questions of the news; every claim cited to its source sentence.",
        lifespan=lifespan,
        responses=ERRORS,  # type: ignore[arg-type]
    )
    app.state.settings = settings
    app.state.ready = False
    app.state.metrics = Metrics()
    app.state.limiter = RateLimiter(settings.rate_limit)

    @app.exception_handler(NewsdeskError)
    async def domain_error(_: Request, exc: NewsdeskError) -> JSONResponse:
        return error_response(exc.name, exc.public_message, exc.status, exc.retry_after)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()))
        return error_response("InvalidRequest", f"{where}: {first.get('msg', 'invalid')}", 422)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        if request.scope.get(TOO_LARGE):  # a body that streamed in past the limit
            return body_too_large(settings.max_body_bytes)
        if exc.status_code == 400 and (named := _unreadable_body(exc.__cause__)):
            return error_response(*named, 400)
        names = {404: "NotFound", 405: "MethodNotAllowed", 400: "BadRequest"}
        return error_response(
            names.get(exc.status_code, "HTTPError"), str(exc.detail), exc.status_code
        )

    app.middleware("http")(app.state.metrics.middleware)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=settings.cors_origins,
        allow_methods=["GET", "POST", "DELETE", "OPTIONS"],
        allow_headers=["content-type", "authorization", "x-api-key"],
        expose_headers=["retry-after"],
    )
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)

    app.include_router(health.router)
    for router in (search.router, ask.router, articles.router, feeds.router, openai_compat.router):
        app.include_router(router, dependencies=[RateLimit])

    @app.get("/metrics", include_in_schema=False)
    def metrics(request: Request) -> Response:
        slots = request.app.state.desk.slots
        return request.app.state.metrics.render(slots.running, slots.waiting)

    @app.get("/", include_in_schema=False)
    def home() -> FileResponse:
        return FileResponse(STATIC / "index.html")

    @app.get("/widget.js", include_in_schema=False)
    def widget() -> FileResponse:
        return FileResponse(STATIC / "widget.js", media_type="application/javascript")

    @app.get("/widget.css", include_in_schema=False)
    def widget_styles() -> FileResponse:
        # Read by the widget with fetch from whatever page embeds it: a public file, like the
        # script, so any origin may read it (no credentials are sent or allowed).
        return FileResponse(
            STATIC / "widget.css",
            media_type="text/css",
            headers={"Access-Control-Allow-Origin": "*"},
        )

    return app
