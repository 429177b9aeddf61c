"""The HTTP API through FastAPI's TestClient, on a real index and the real embedder."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from rag.config import Settings
from rag.desk import Desk
from tests.conftest import SEEDS


@pytest.fixture
def client(tmp_path: Path, embedder) -> Iterator[TestClient]:
    settings = Settings(index_dir=tmp_path / "indexes")
    desk = Desk(settings, embedder=embedder)
    desk.ingest_paths([SEEDS])
    with TestClient(create_app(settings, desk)) as test_client:
        yield test_client


def test_search_returns_hits_with_offsets(client: TestClient) -> None:
    response = client.post(
        "/v1/search", json={"question": "Which regions did Russia annex?", "k": 3}
    )
    assert response.status_code == 200
    hits = response.json()["hits"]
    assert hits[0]["article_id"] == "a3768beeca3bd2e8"
    article = client.get("/v1/articles/a3768beeca3bd2e8").json()
    for s in hits[0]["sentences"]:
        assert article["body"][s["char_start"] : s["char_end"]] == s["text"]


@pytest.mark.parametrize(
    ("payload", "status", "error"),
    [
        ({"question": ""}, 422, "EmptyQuestion"),
        ({"question": "x" * 2500}, 413, "QuestionTooLong"),
        ({"question": "ok", "k": 0}, 422, "InvalidRequest"),
        ({"question": "ok", "surprise": 1}, 422, "InvalidRequest"),
        ({"question": "ok", "index": "nope"}, 404, "UnknownIndex"),
    ],
)
def test_errors_have_stable_names(
    client: TestClient, payload: dict, status: int, error: str
) -> None:
    response = client.post("/v1/search", json=payload)
    assert response.status_code == status
    assert response.json()["error"] == error


def test_health_and_page(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json()["index"]["articles"] == 1
    assert client.get("/").status_code == 200
    assert client.get("/v1/articles/missing").json()["error"] == "UnknownArticle"
