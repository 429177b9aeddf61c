"""Request-scoped access to what the lifespan built, and the API-key checks."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import Depends, Request
from pydantic import SecretStr

from rag.config import Settings
from rag.desk import Desk
from rag.errors import BackendNotAllowed, InvalidApiKey, MissingApiKey, WritesDisabled


def get_desk(request: Request) -> Desk:
    return request.app.state.desk


DeskDep = Annotated[Desk, Depends(get_desk)]


def allowed_backends(settings: Settings) -> list[str]:
    return list(dict.fromkeys([settings.generator_backend, *settings.request_backends]))


def request_backend(settings: Settings, name: str | None) -> str | None:
    """The backend a request asked for, if the service offers it to requests."""
    if name is not None and name not in allowed_backends(settings):
        offered = ", ".join(allowed_backends(settings))
        raise BackendNotAllowed(f"backend {name!r} is not offered here; choose one of: {offered}")
    return name


def presented_key(request: Request) -> str | None:
    """`Authorization: Bearer KEY` or `X-API-Key: KEY`."""
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip() or None
    return request.headers.get("x-api-key") or None


def is_valid(key: str, keys: list[SecretStr]) -> bool:
    return any(secrets.compare_digest(key, k.get_secret_value()) for k in keys)


def valid_key(request: Request) -> str | None:
    """The presented key if it is one of the service's (ask or write); None otherwise."""
    key = presented_key(request)
    settings = request.app.state.settings
    return (
        key if key is not None and is_valid(key, settings.ask_keys + settings.write_keys) else None
    )


def _check(request: Request, keys: list[SecretStr]) -> None:
    key = presented_key(request)
    if key is None:
        raise MissingApiKey("this endpoint needs an API key (Authorization: Bearer KEY)")
    if not is_valid(key, keys):
        raise InvalidApiKey("the API key is not valid for this endpoint")


def require_write_key(request: Request) -> None:
    keys = request.app.state.settings.write_keys
    if not keys:
        raise WritesDisabled("writes are disabled: set NEWSDESK_WRITE_KEYS to allow them")
    _check(request, keys)


def require_ask_key(request: Request) -> None:
    keys = request.app.state.settings.ask_keys
    if keys:
        _check(request, keys)


WriteKey = Depends(require_write_key)
AskKey = Depends(require_ask_key)
