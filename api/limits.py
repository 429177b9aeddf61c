"""Request limits: body size (413 before the body is read) and per-key/per-address rates."""

from __future__ import annotations

import time

from fastapi import Depends
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.deps import valid_key
from rag.errors import RateLimited


class BodyLimit:
    """Refuse bodies over `max_bytes`: by Content-Length at once, else while they stream in."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        length = headers.get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.max_bytes):
            await self._refuse(send)
            return
        seen = 0
        started = False

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    # The app may catch this while it reads the body: the mark tells it why.
                    scope[TOO_LARGE] = True
                    raise _TooLarge
            return message

        async def watched(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, watched)
        except _TooLarge:
            if not started:
                await self._refuse(send)

    async def _refuse(self, send: Send) -> None:
        await body_too_large(self.max_bytes)({"type": "http"}, _nothing_to_receive, send)


class _TooLarge(Exception):
    pass


TOO_LARGE = "newsdesk.body_too_large"  # set in the ASGI scope once a body passed the limit


def body_too_large(max_bytes: int) -> JSONResponse:
    return JSONResponse(
        {"error": "BodyTooLarge", "message": f"the request body is over {max_bytes:,} bytes"},
        status_code=413,
    )


async def _nothing_to_receive() -> Message:
    return {"type": "http.disconnect"}


class RateLimiter:
    """A moving-window limit per valid API key, else per client address (the `limits`
    library)."""

    def __init__(self, rate: str) -> None:
        from limits import parse
        from limits.storage import MemoryStorage
        from limits.strategies import MovingWindowRateLimiter

        self.rate = rate
        self.limit = parse(rate)
        self.window = MovingWindowRateLimiter(MemoryStorage())

    def check(self, request: Request) -> None:
        # Only a key of the service's has a budget of its own: a made-up or wrong key counts
        # against its client's address, as no key does, so guessing keys is throttled too.
        key = valid_key(request)
        who = f"key:{key}" if key else f"ip:{request.client.host if request.client else '-'}"
        if not self.window.hit(self.limit, who):
            reset, _ = self.window.get_window_stats(self.limit, who)
            wait = max(int(reset - time.time()) + 1, 1)
            error = RateLimited(f"more than {self.rate} requests; retry in {wait}s")
            error.retry_after = wait
            raise error


def rate_limit(request: Request) -> None:
    request.app.state.limiter.check(request)


RateLimit = Depends(rate_limit)
