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

import itertools
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.python import asgi

from api.main import create_app
from rag.config import Settings
from rag.desk import Desk
from rag.retrieval.retrieve import MAX_QUESTION_CHARS, MAX_TURN_CHARS
from tests.conftest import SEEDS

pytestmark = pytest.mark.slow

WRITE = {"Authorization": "Bearer write-secret"}
ASKER = {"X-API-Key": "ask-secret"}  # may ask and search; writes answer a named 403
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
MAX_BODY = Settings().max_body_bytes
MAX_ARTICLE = 20_000  # lower than the default, so that an article at the limit ingests quickly
OPENAPI = create_app(Settings(generator_backend="extractive")).openapi()
schema = schemathesis.openapi.from_dict(OPENAPI)


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory, embedder) -> Iterator[FastAPI]:
    fields = {
        "index_dir": tmp_path_factory.mktemp("schema") / "indexes",
        "generator_backend": "extractive",
        "write_keys": ["write-secret"],
        "ask_keys": ["ask-secret"],
        # Generated feed and page URLs must not reach a resolver: only this host is fetched.
        "fetch_allow_hosts": ["127.0.0.1"],
        "rate_limit": "1000000/minute",
        "max_article_chars": MAX_ARTICLE,
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
@pytest.mark.parametrize("key", [WRITE, ASKER], ids=["write-key", "ask-key"])
def test_no_input_gives_a_server_error(case: schemathesis.Case, app: FastAPI, key: dict) -> None:
    """Every reply is documented: its status, content type and body match the schema."""
    case.call_and_validate(app=app, headers=key, checks=CHECKS)


_CONTENT = {"content": "Who is Galuzin?"}


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


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v1/ask/stream", {"question": "Who is Galuzin?"}),
        ("/v1/chat/completions", {"stream": True, "messages": [{"role": "user", **_CONTENT}]}),
        ("/v1/chat/completions", {"messages": [{"role": "user", **_CONTENT}]}),
    ],
)
def test_a_streamed_reply_is_of_a_documented_content_type(
    client: Any, path: str, body: dict
) -> None:
    """Generation only sometimes asks for a stream; this asks every time."""
    reply = client.post(path, json=body, headers=ASKER)
    assert reply.status_code == 200
    documented = OPENAPI["paths"][path]["post"]["responses"]["200"]["content"]
    assert reply.headers["content-type"].split(";")[0] in documented


@pytest.fixture(scope="module")
def client(app: FastAPI) -> Iterator[Any]:
    """A requests session into the app (schemathesis's, so it shares the running lifespan)."""
    with asgi.get_client(app) as session:
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
    route = path.split("?")[0].replace("/x", "/{article_id}")
    response = client.request(method, path, json=body, headers=_key(route, method.lower()))
    assert (response.status_code, response.json()["error"]) == (status, error)


def test_no_index_outside_the_index_dir(client: Any, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    body = {"articles": [ARTICLE], "index": str(elsewhere)}
    response = client.post("/v1/articles", json=body, headers=WRITE)
    assert response.status_code == 422 and not elsewhere.exists()
    assert client.get("/v1/articles", headers=WRITE).status_code == 200


# --- bodies at and past every limit --------------------------------------------------------
def _key(path: str, method: str) -> dict:
    """The key an operation takes: asking needs an ask key (write keys are for writes)."""
    tags = set(OPENAPI["paths"][path][method].get("tags", []))
    return ASKER if tags & {"ask", "openai"} else WRITE


def _resolve(node: dict) -> dict:
    while "$ref" in node:
        node = OPENAPI["components"]["schemas"][node["$ref"].rsplit("/", 1)[-1]]
    return node


def _fill(node: dict, over: int, unbounded: Iterator[str]) -> Any:
    """The largest value the schema allows (`over`=0), or one past each bound (`over`=1).
    Strings the schema does not bound take theirs from `unbounded`."""
    node = _resolve(node)
    if "anyOf" in node:
        node = next(_resolve(n) for n in node["anyOf"] if _resolve(n).get("type") != "null")
    if "enum" in node:
        return node["enum"][-1]
    kind = node.get("type")
    if kind == "object":
        return {key: _fill(value, over, unbounded) for key, value in node["properties"].items()}
    if kind == "array":
        size = node.get("maxItems", 2) + over
        return [_fill(node["items"], over, unbounded) for _ in range(size)]
    if kind in ("integer", "number"):
        return node.get("maximum", 10) + over
    if kind == "boolean":
        return False
    if "pattern" in node:  # an index's name: the one served, then one longer than any can be
        return "i" * 64 if over else "default"
    if node.get("format") == "date-time":
        return "2023-10-06T00:00:00Z"
    if "maxLength" in node:
        prefix = "http://127.0.0.1/" if node.get("title", "").lower().endswith("url") else ""
        return prefix + "a" * (node["maxLength"] + over - len(prefix))
    return next(unbounded)


def _largest(body_schema: dict, over: int) -> Any:
    """`_fill`, with the first string the schema leaves open taking all the room the body
    limit leaves (a conversation's first message, an article's body), the others empty."""
    bare = json.dumps(_fill(body_schema, over, itertools.repeat("")))
    room = MAX_BODY - len(bare) - 16
    return _fill(body_schema, over, itertools.chain(["w" * room], itertools.repeat("")))


BODIES = [
    (path, method)
    for path, ops in OPENAPI["paths"].items()
    for method, spec in ops.items()
    if "requestBody" in spec
]


@pytest.mark.parametrize(("path", "method"), BODIES)
@pytest.mark.parametrize("over", [0, 1], ids=["at", "past"])
def test_bodies_at_and_past_every_limit(app: FastAPI, path: str, method: str, over: int) -> None:
    """Every field at its largest (a string the schema leaves open as long as the body limit
    allows), then one past every bound: a documented reply, never a 5xx; past the bounds, a
    named 4xx."""
    operation = schema[path][method.upper()]
    body_schema = OPENAPI["paths"][path][method]["requestBody"]["content"]["application/json"]
    body = _largest(body_schema["schema"], over)
    case = operation.Case(body=body, media_type="application/json")
    response = case.call_and_validate(app=app, headers=_key(path, method), checks=CHECKS)
    if over:
        assert 400 <= response.status_code < 500 and response.json()["error"]


@pytest.mark.parametrize("extra", [0, 1], ids=["at", "past"])
def test_a_body_of_exactly_the_limit_is_read_and_one_byte_more_is_not(
    client: Any, extra: int
) -> None:
    """Padded with JSON's own whitespace to the byte."""
    raw = json.dumps(ASK).encode()
    padded = raw[:-1] + b" " * (MAX_BODY - len(raw) + extra) + raw[-1:]
    assert len(padded) == MAX_BODY + extra
    headers = {**ASKER, "content-type": "application/json"}
    response = client.post("/v1/search", data=padded, headers=headers)
    if extra:
        assert (response.status_code, response.json()["error"]) == (413, "BodyTooLarge")
    else:
        assert response.status_code == 200


TURN_TIMES = MAX_TURN_CHARS // MAX_QUESTION_CHARS  # an earlier answer may be this much longer


def _question(size: int) -> str:
    return ("Who is Galuzin? " * (size // 16 + 1))[:size]


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v1/search", lambda n: {"question": _question(n)}),
        ("/v1/ask", lambda n: {"question": _question(n)}),
        ("/v1/ask", lambda n: {"question": "And he?", "history": [
            {"role": "user", "content": _question(n)}]}),
        ("/v1/ask", lambda n: {"question": "And he?", "history": [
            {"role": "assistant", "content": _question(n * TURN_TIMES)}]}),
        ("/v1/chat/completions", lambda n: {"messages": [
            {"role": "user", "content": _question(n)}]}),
        ("/v1/chat/completions", lambda n: {"messages": [
            {"role": "user", "content": _question(n)}, {"role": "assistant", "content": "Galuzin."},
            {"role": "user", "content": "What about him?"}]}),
    ],
    ids=["search", "ask", "ask-history-user", "ask-history-answer", "chat", "chat-follow-up"],
)  # fmt: skip
def test_a_question_at_its_limit_is_answered_and_one_character_more_is_named(
    client: Any, path: str, body: Any
) -> None:
    """The domain limits on questions and earlier turns, which the schema's field bounds leave
    room above so that a question merely too long gets its own name."""
    key = _key(path, "post")
    assert client.post(path, json=body(MAX_QUESTION_CHARS), headers=key).status_code == 200
    response = client.post(path, json=body(MAX_QUESTION_CHARS + 1), headers=key)
    assert (response.status_code, response.json()["error"]) == (413, "QuestionTooLong")
