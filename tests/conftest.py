"""Shared fixtures: the real packaged embedder, real Chroma (embedded and a real server).

Everything a test writes goes under pytest's tmp paths. The one fake, `HashEmbedder`, goes in
through the embedder registry like a real backend; it exists to build an index with another
embedder, which the mismatch check must refuse.
"""

from __future__ import annotations

import hashlib
import os
import sys
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

from bench.servers import chroma  # noqa: E402
from rag.config import Settings  # noqa: E402
from rag.desk import Desk  # noqa: E402
from rag.store.embedding import EMBEDDERS, MiniLM  # noqa: E402
from rag.store.folders import connect  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "data" / "multihop-rag" / "articles.jsonl"
QUESTIONS = ROOT / "data" / "multihop-rag" / "questions-dev.jsonl"
SEEDS = ROOT / "seeds"
VENV_BIN = Path(sys.executable).parent


class HashEmbedder:
    """A different embedder (8 dims from a hash): only for the embedder-mismatch test."""

    name = "test-hash-8"
    dim = 8

    def __init__(self, **_: object) -> None:
        pass

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        out = []
        for text in texts:
            digest = hashlib.sha256(text.encode()).digest()
            vector = [b - 127.5 for b in digest[: self.dim]]
            norm = sum(v * v for v in vector) ** 0.5
            out.append([v / norm for v in vector])
        return out

    def embed_query(self, text: str) -> list[float]:
        return self.embed([text])[0]

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        return [len(t.split()) for t in texts]


EMBEDDERS["test-hash"] = HashEmbedder


def delete_article_records(desk: Desk, ids: Sequence[str]) -> None:
    """Delete articles' records but not their chunks, in the store itself (through Chroma's own
    client): the state a write stopped between the two leaves, or an older ingest's records."""
    name = desk.index().name
    _, _, client = connect(desk.settings, name, create=False)
    prefix = "" if desk.settings.chroma_host is None else f"{name}."
    client.get_collection(f"{prefix}articles", embedding_function=None).delete(ids=list(ids))


@pytest.fixture(scope="session")
def embedder() -> MiniLM:
    return MiniLM()


@pytest.fixture(scope="session")
def chroma_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    """A real `chroma run` on 127.0.0.1, for the whole session."""
    with chroma(tmp_path_factory.mktemp("chroma-server")) as address:
        yield address


@pytest.fixture(params=["embedded", "server"])
def backend_settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    """Settings for an embedded index under tmp_path, or for the real Chroma server."""
    if request.param == "embedded":
        return Settings(index_dir=tmp_path / "indexes")
    host, port = request.getfixturevalue("chroma_server")
    return Settings(index_dir=tmp_path / "indexes", chroma_host=host, chroma_port=port)


@pytest.fixture
def index_name() -> str:
    """Unique, because the Chroma server outlives a test."""
    return f"t-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def desk(backend_settings: Settings, embedder: MiniLM) -> Desk:
    return Desk(backend_settings, embedder=embedder)


@pytest.fixture
def seed_desk(tmp_path: Path, embedder: MiniLM) -> Desk:
    """The seed article in a new index, answered by the `extractive` backend."""
    settings = Settings(index_dir=tmp_path / "indexes", generator_backend="extractive")
    desk = Desk(settings, embedder=embedder)
    desk.ingest_paths([SEEDS])
    return desk


@pytest.fixture(scope="session")
def corpus_desk(tmp_path_factory: pytest.TempPathFactory, embedder: MiniLM) -> Desk:
    """The whole MultiHop-RAG corpus in one embedded index, built once; tests only read it."""
    settings = Settings(index_dir=tmp_path_factory.mktemp("corpus") / "indexes")
    desk = Desk(settings, embedder=embedder)
    desk.ingest_paths([CORPUS], "corpus")
    return desk
