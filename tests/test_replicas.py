"""Two API replicas (`newsdesk serve`) on one Chroma server, each with a folder of its own, as
"Running at scale" in the README deploys them: what one writes, the other finds and cites."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import threading
import time
import uuid
from pathlib import Path

import httpx
import pytest

from bench.servers import Server, serve
from rag.config import Settings
from rag.desk import Desk
from tests.conftest import CORPUS, SEEDS

pytestmark = [pytest.mark.server, pytest.mark.slow]

KEY = "replica-write-key"
HEADERS = {"X-API-Key": KEY}
ARTICLE_FIELDS = ("id", "title", "body", "source", "url", "published_at", "author", "category")
FRESH = {
    "id": "harbour-9",
    "title": "Harbour tram opens",
    "source": "Quayside Gazette",
    "published_at": "2026-11-30",
    "body": "The harbour tram carried 4,812 riders on its first day.\n\n"
    "The line's builder, Ostrander Rail, finished it two months early.",
}


def store(folder: Path, host: str, port: int, embedder: object) -> Desk:
    """This test's own view of the server's indexes."""
    return Desk(Settings(index_dir=folder, chroma_host=host, chroma_port=port), embedder)  # type: ignore[arg-type]


def replica(folder: Path, host: str, port: int, index: str, **settings: object) -> object:
    folder.mkdir()
    return serve(
        folder,
        ready_timeout=300,
        cli=True,
        chroma_host=host,
        chroma_port=port,
        default_index=index,
        generator_backend="extractive",
        write_keys=f'["{KEY}"]',
        rate_limit="10000/minute",
        **settings,
    )


def found(server: Server, question: str, article_id: str) -> bool:
    hits = httpx.post(
        f"{server.url}/v1/search", json={"question": question, "k": 5}, timeout=30
    ).json()["hits"]
    return any(h["article_id"] == article_id for h in hits)


def test_what_one_replica_writes_the_other_finds_and_cites(
    chroma_server: tuple[str, int], tmp_path: Path, embedder: object
) -> None:
    host, port = chroma_server
    index = f"r-{uuid.uuid4().hex[:10]}"
    store(tmp_path / "seed", host, port, embedder).ingest_paths([SEEDS], index)
    with (
        replica(tmp_path / "one", host, port, index) as one,
        replica(tmp_path / "two", host, port, index) as two,
    ):
        question = "How many riders did the harbour tram carry on its first day?"
        assert not found(two, question, "harbour-9")  # the second has its index open

        wrote = httpx.post(
            f"{one.url}/v1/articles", json={"articles": [FRESH]}, headers=HEADERS, timeout=120
        )
        assert wrote.status_code == 200, wrote.text
        written = time.monotonic()
        while not found(two, question, "harbour-9"):
            assert time.monotonic() - written < 2.0, "the second replica did not see the write"
            time.sleep(0.1)
        # The lexical half too: a rare name only BM25 ranks first.
        assert found(two, "Ostrander", "harbour-9")

        answer = httpx.post(f"{two.url}/v1/ask", json={"question": question}, timeout=120).json()
        assert any(c["article_id"] == "harbour-9" for c in answer["citations"]), answer

        gone = httpx.delete(f"{one.url}/v1/articles/harbour-9", headers=HEADERS, timeout=60)
        assert gone.status_code == 204
        assert not found(two, "Ostrander", "harbour-9")


def test_a_replica_killed_mid_ingest_loses_nothing(
    chroma_server: tuple[str, int], tmp_path: Path, embedder: object
) -> None:
    """SIGKILL while a batch is being written, then the same batch again: the other replica
    ends with exactly the articles and chunks of a clean run, in both halves of its search."""
    host, port = chroma_server
    index, clean = (f"{kind}-{uuid.uuid4().hex[:10]}" for kind in ("k", "c"))
    rows = [json.loads(line) for line in CORPUS.read_text(encoding="utf-8").splitlines()[:30]]
    batch = {"articles": [{k: r[k] for k in ARTICLE_FIELDS if r.get(k)} for r in rows]}
    mine = store(tmp_path / "mine", host, port, embedder)
    mine.ingest_paths([SEEDS], index)
    with replica(tmp_path / "two", host, port, index) as two:
        # Small batches: the kill comes between two of them.
        with replica(tmp_path / "one", host, port, index, write_batch=8, embed_batch_size=8) as one:

            def post() -> None:
                with contextlib.suppress(httpx.HTTPError):  # the server dies mid-request
                    httpx.post(f"{one.url}/v1/articles", json=batch, headers=HEADERS, timeout=600)

            writing = threading.Thread(target=post, daemon=True)
            seeded = mine.index(index).chunk_count()
            writing.start()
            deadline = time.monotonic() + 300
            while mine.index(index).chunk_count() == seeded:  # chunks are being written
                assert time.monotonic() < deadline, "the batch was never written"
                time.sleep(0.05)
            os.kill(one.proc.pid, signal.SIGKILL)
            one.proc.wait(30)
        assert mine.index(index).article_count() < 1 + len(rows), "the kill came too late"
        with replica(tmp_path / "again", host, port, index) as again:
            wrote = httpx.post(f"{again.url}/v1/articles", json=batch, headers=HEADERS, timeout=600)
            assert wrote.status_code == 200, wrote.text

        mine.ingest_paths([SEEDS], clean)
        wrote = httpx.post(
            f"{two.url}/v1/articles", json=batch | {"index": clean}, headers=HEADERS, timeout=600
        )
        assert wrote.status_code == 200, wrote.text
        want = mine.index(clean)
        listed = httpx.get(f"{two.url}/v1/articles", params={"limit": 500}, timeout=60).json()
        assert {a["id"] for a in listed["articles"]} == set(want.article_hashes())
        assert found(two, batch["articles"][-1]["title"], batch["articles"][-1]["id"])
        ready = httpx.get(f"{two.url}/readyz", timeout=60).json()
        assert (ready["index"]["chunks"], ready["index"]["lexical_chunks"]) == (
            want.chunk_count(),
            want.chunk_count(),
        )
        assert ready["index"]["lexical_in_step"] is True
        got = mine.index(index)
        assert {r.id for r in got.all_chunks()} == {r.id for r in want.all_chunks()}
