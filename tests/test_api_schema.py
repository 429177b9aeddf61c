"""Property test of the HTTP API against its own OpenAPI schema (schemathesis).

Every operation in the schema gets generated requests, valid and invalid, sent to the real app
(real index of the seed article, real embedder, extractive answers). Whatever comes in, the
answer is never a 5xx: bad input is a 4xx with a stable error name. Every request carries the
write key, so the write routes are exercised past their auth check (test_api.py covers the
auth failures), and the rate limit is lifted so requests reach their routes.

Below it, the 5xx inputs found around it that generation does not reach: schemathesis never
generates lone surrogates (it sends text as UTF-8), and paths or far dates are rare draws.

The schema is read from an app that is built but never started (building one loads nothing);
the requests go to a started one. schemathesis.pytest.from_fixture would do both from one
fixture, but it does not run under pytest 9.2 (it sets `Function._nodeid`, gone in 9.2).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.python import asgi

from api.main import create_app
from rag.config import Settings
from rag.desk import Desk
from tests.conftest import SEEDS

pytestmark = pytest.mark.slow

WRITE = {"Authorization": "Bearer write-secret"}
OPENAPI = create_app(Settings(generator_backend="extractive")).openapi()
schema = schemathesis.openapi.from_dict(OPENAPI)


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory, embedder) -> Iterator[FastAPI]:
    fields = {
        "index_dir": tmp_path_factory.mktemp("schema") / "indexes",
        "generator_backend": "extractive",
        "write_keys": ["write-secret"],
        # Generated feed and page URLs must not reach a resolver: only this host is fetched.
        "fetch_allow_hosts": ["127.0.0.1"],
        "rate_limit": "1000000/minute",
    }
    desk = Desk(Settings(**fields), embedder=embedder)
    desk.ingest_paths([SEEDS])
    # schemathesis starts the app's lifespan on the first request; it runs until shut down.
    yield create_app(Settings(**fields), desk)
    asgi.shutdown_lifespans()


@schema.parametrize()
@settings(
    max_examples=40,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_no_input_gives_a_server_error(case: schemathesis.Case, app: FastAPI) -> None:
    case.call_and_validate(app=app, headers=WRITE, checks=[not_a_server_error])


def test_the_schema_covers_every_route() -> None:
    """A route missing from the schema would be missing from the property test too."""
    operations = {
        f"{method.upper()} {path}" for path, ops in OPENAPI["paths"].items() for method in ops
    }
    assert operations == {
        "POST /v1/ask", "POST /v1/ask/stream", "POST /v1/search", "GET /v1/articles",
        "POST /v1/articles", "GET /v1/articles/{article_id}", "DELETE /v1/articles/{article_id}",
        "POST /v1/chat/completions", "GET /v1/models", "GET /healthz", "GET /readyz",
        "GET /v1/feeds", "POST /v1/feeds", "DELETE /v1/feeds", "POST /v1/articles/fetch",
    }  # fmt: skip


@pytest.fixture(scope="module")
def client(app: FastAPI) -> Iterator[Any]:
    """A requests session into the app (schemathesis's, so it shares the running lifespan)."""
    with asgi.get_client(app) as session:
        session.headers.update(WRITE)
        yield session


ASK = {"question": "Who is Galuzin?"}
ARTICLE = {"title": "Galuzin speaks", "body": "Galuzin spoke on Friday."}
LONE = "\ud800"  # a lone surrogate: sent as the JSON escape "\\ud800", legal JSON
PART = {"type": "text", "text": LONE}


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "error"),
    [
        # Was 500 CorruptIndex: over HTTP an index is a name, not a folder anywhere on disk.
        ("POST", "/v1/search", {**ASK, "index": "/etc"}, 422, "InvalidRequest"),
        ("POST", "/v1/ask", {**ASK, "index": "../indexes/default"}, 422, "InvalidRequest"),
        ("GET", "/v1/articles?index=/etc", None, 422, "InvalidRequest"),
        ("GET", "/v1/articles/x?index=/etc", None, 422, "InvalidRequest"),
        ("DELETE", "/v1/articles/x?index=/tmp", None, 422, "InvalidRequest"),
        # Were 500 (Chroma "Invalid where clause", tokenizer TypeError, UnicodeEncodeError).
        ("POST", "/v1/search", {**ASK, "filters": {"sources": [LONE]}}, 422, "InvalidRequest"),
        ("POST", "/v1/ask/stream", {**ASK, "filters": {"sources": [LONE]}}, 422, "InvalidRequest"),
        ("POST", "/v1/chat/completions", {"messages": [{"role": "user", "content": LONE}]}, 422,
         "InvalidRequest"),
        ("POST", "/v1/chat/completions",
         {"stream": True, "messages": [{"role": "user", "content": [PART]}]}, 422,
         "InvalidRequest"),
        ("POST", "/v1/articles", {"articles": [{**ARTICLE, "body": f"Galuzin {LONE} spoke."}]}, 422,
         "InvalidRequest"),
        # Were stored, then every read of the article was a 500 (OverflowError).
        ("POST", "/v1/articles", {"articles": [{**ARTICLE, "published_at": 10**20}]}, 422,
         "InvalidDate"),
        ("POST", "/v1/articles",
         {"articles": [{**ARTICLE, "published_at": "9999-12-31T23:00:00-12:00"}]}, 422,
         "InvalidDate"),
    ],
)  # fmt: skip
def test_inputs_generation_misses_are_4xx(
    client: Any, method: str, path: str, body: dict | None, status: int, error: str
) -> None:
    response = client.request(method, path, json=body)
    assert (response.status_code, response.json()["error"]) == (status, error)


def test_no_index_outside_the_index_dir(client: Any, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    response = client.post("/v1/articles", json={"articles": [ARTICLE], "index": str(elsewhere)})
    assert response.status_code == 422 and not elsewhere.exists()
    assert client.get("/v1/articles").status_code == 200
