"""The index contract, run against embedded Chroma and a real Chroma server alike."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rag.config import Settings
from rag.desk import Desk
from rag.errors import (
    ChunkSettingsMismatch,
    EmbedderMismatch,
    EmptyBody,
    UnknownArticle,
    UnknownIndex,
)
from rag.types import Filters
from tests.conftest import SEEDS

pytestmark = pytest.mark.server


def chunk_ids(desk: Desk, name: str) -> set[str]:
    return {r.id for r in desk.index(name).all_chunks()}


def write(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


NEWS = [
    {
        "id": "ledger-1",
        "title": "Fed raises rates",
        "source": "The Ledger",
        "published_at": "2024-01-05T14:00:00Z",
        "body": "The Fed raised rates by 0.25 points on Jan. 5.\n\nMarkets fell 2% after the "
        "announcement. “We remain vigilant,” the chair said.",
    },
    {
        "id": "courier-1",
        "title": "Storm closes ports",
        "source": "Coast Courier",
        "published_at": "2024-02-10",
        "body": "A storm closed three ports on the east coast.\n\nWinds reached 120 mph.",
    },
    {
        "id": "ledger-2",
        "title": "Bank profits climb",
        "source": "The Ledger",
        "published_at": "2024-03-01",
        "body": "Bank profits climbed as interest rates stayed high.",
    },
]


def test_ingest_and_search_with_exact_sentences(desk: Desk, index_name: str) -> None:
    report = desk.ingest_paths([SEEDS], index_name)
    assert (report.added, report.unchanged) == (1, 0)
    stats = desk.index(index_name).stats()
    assert stats["articles"] == 1 and stats["chunks"] == report.chunks_written > 0
    assert stats["embedder"] == "all-MiniLM-L6-v2" and stats["dim"] == 384

    hits = desk.search("What must Ukraine accept before talks in Moscow?", 3, index=index_name)
    assert hits and hits[0].article_id == "a3768beeca3bd2e8"
    article, _ = desk.index(index_name).get_article(hits[0].article_id)
    for hit in hits:
        for s in hit.sentences:
            assert article.body[s.char_start : s.char_end] == s.text
    texts = [s.text for h in hits for s in h.sentences]
    assert any("annexation of four Ukrainian regions" in t for t in texts)


def test_reingest_unchanged_embeds_and_adds_nothing(desk: Desk, index_name: str) -> None:
    desk.ingest_paths([SEEDS], index_name)
    before = chunk_ids(desk, index_name)
    report = desk.ingest_paths([SEEDS], index_name)
    assert report.unchanged == 1
    assert report.chunks_embedded == report.chunks_written == 0
    assert chunk_ids(desk, index_name) == before


def test_changed_body_replaces_its_chunks(desk: Desk, index_name: str, tmp_path: Path) -> None:
    path = write(tmp_path / "a.jsonl", NEWS)
    desk.ingest_paths([path], index_name)
    old = {c for c in chunk_ids(desk, index_name) if c.startswith("courier-1@")}
    changed = [dict(NEWS[1], body=NEWS[1]["body"] + "\n\nThe ports reopened on Monday.")]
    report = desk.ingest_paths([write(tmp_path / "b.jsonl", changed)], index_name)
    assert (report.updated, report.added) == (1, 0)
    assert report.stale_deleted == len(old)
    now = {c for c in chunk_ids(desk, index_name) if c.startswith("courier-")}
    assert now and not now & old
    article, spans = desk.index(index_name).get_article("courier-1")
    assert article.body.endswith("reopened on Monday.") and len(spans) == 3
    hits = desk.search("When did the ports reopen?", 1, index=index_name)
    assert hits[0].article_id == "courier-1"
    # The other articles were not touched.
    assert desk.index(index_name).article_count() == 3


def test_delete_article(desk: Desk, index_name: str, tmp_path: Path) -> None:
    desk.ingest_paths([write(tmp_path / "a.jsonl", NEWS)], index_name)
    desk.delete_article("ledger-2", index_name)
    assert not any(c.startswith("ledger-2@") for c in chunk_ids(desk, index_name))
    assert desk.index(index_name).article_count() == 2
    hits = desk.search("bank profits", 10, index=index_name)
    assert "ledger-2" not in {h.article_id for h in hits}
    with pytest.raises(UnknownArticle):
        desk.delete_article("ledger-2", index_name)


def test_filters_by_source_and_date(desk: Desk, index_name: str, tmp_path: Path) -> None:
    desk.ingest_paths([write(tmp_path / "a.jsonl", NEWS)], index_name)
    only_ledger = desk.search("rates", 10, Filters(sources=("The Ledger",)), index_name)
    assert {h.article_id for h in only_ledger} == {"ledger-1", "ledger-2"}
    february = Filters(published_after=1706745600, published_before=1709164800)  # Feb 2024
    assert {h.article_id for h in desk.search("rates", 10, february, index_name)} == {"courier-1"}
    assert desk.search("rates", 10, Filters(sources=("Nobody",)), index_name) == []


def test_bad_batch_leaves_the_index_exactly_as_it_was(
    desk: Desk, index_name: str, tmp_path: Path
) -> None:
    desk.ingest_paths([write(tmp_path / "a.jsonl", NEWS)], index_name)
    before = (chunk_ids(desk, index_name), desk.index(index_name).article_hashes())
    bad = [dict(NEWS[0], body="A whole new body."), {"id": "x", "title": "Empty", "body": " "}]
    with pytest.raises(EmptyBody):
        desk.ingest_paths([write(tmp_path / "bad.jsonl", bad)], index_name)
    assert (chunk_ids(desk, index_name), desk.index(index_name).article_hashes()) == before


def test_unknown_index(desk: Desk) -> None:
    with pytest.raises(UnknownIndex):
        desk.search("anything", 3, index="never-built")


def test_other_embedder_is_refused_with_rebuild_command(
    backend_settings: Settings, index_name: str, embedder: object
) -> None:
    hashed = Desk(backend_settings.model_copy(update={"embedder": "test-hash"}))
    hashed.ingest_paths([SEEDS], index_name)
    with pytest.raises(EmbedderMismatch) as info:
        Desk(backend_settings, embedder=embedder).search("Zelensky", 3, index=index_name)  # type: ignore[arg-type]
    assert "test-hash-8" in info.value.message
    assert f"newsdesk index drop {index_name}" in info.value.message


def test_a_write_by_another_process_reaches_the_lexical_cache(
    backend_settings: Settings, index_name: str, embedder: object, tmp_path: Path
) -> None:
    server = Desk(backend_settings, embedder=embedder)  # type: ignore[arg-type]
    server.ingest_paths([write(tmp_path / "a.jsonl", NEWS)], index_name)
    assert server.search("storm closed three ports", 3, index=index_name)[0].article_id == (
        "courier-1"
    )
    other = Desk(backend_settings, embedder=embedder)  # type: ignore[arg-type]
    edited = [dict(NEWS[1], body="Fog delayed ferries along the north shore.")]
    other.ingest_paths([write(tmp_path / "b.jsonl", edited)], index_name)
    live = chunk_ids(server, index_name)
    for hit in server.search("storm closed three ports", 10, index=index_name):
        assert hit.chunk_id in live
    assert "Fog delayed" in server.search("fog ferries", 1, index=index_name)[0].sentences[0].text


def test_dense_search_reads_only_ranks_when_the_records_are_known(
    desk: Desk, index_name: str, tmp_path: Path
) -> None:
    """The retriever hands Chroma the records it holds; what it lacks is read by id."""
    desk.ingest_paths([write(tmp_path / "news.jsonl", NEWS)], index_name)
    index = desk.index(index_name)
    vector = desk.embedder.embed_query("Which ports did the storm close?")
    full = index.dense_search(vector, 5)
    known = {r.id: r for r in index.all_chunks()}
    lacking = dict(list(known.items())[1:])  # one record written since the caller's copy
    for records in (known, lacking):
        ranked = index.dense_search(vector, 5, known=records)
        assert [(r.id, r.text, r.meta) for r in ranked] == [(r.id, r.text, r.meta) for r in full]
        assert [r.similarity for r in ranked] == pytest.approx([r.similarity for r in full])


def test_a_search_after_a_write_neither_waits_for_bm25_nor_sees_deleted_chunks(
    desk: Desk, index_name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import threading

    import rag.retrieve

    desk.ingest_paths([write(tmp_path / "news.jsonl", NEWS)], index_name)
    assert desk.search("storm closed three ports", 3, index=index_name)[0].article_id == (
        "courier-1"
    )
    release = threading.Event()
    build = rag.retrieve._build_lexical

    def held_build(index, key):  # the rebuild cannot finish until the test lets it
        assert release.wait(60)
        return build(index, key)

    monkeypatch.setattr(rag.retrieve, "_build_lexical", held_build)
    desk.delete_article("courier-1", index_name)
    # The BM25 index in memory still lists the deleted article; the search must not show it.
    hits = desk.search("storm closed three ports", 10, index=index_name)
    assert hits and all(h.article_id != "courier-1" for h in hits)
    assert not release.is_set()  # answered while the rebuild was still held
    release.set()
    retriever = desk.retriever(index_name)
    retriever.wait_fresh(60)
    lexical, stale = retriever._lexical_index()
    assert not stale and lexical is not None
    assert "courier-1" not in {r.meta["article_id"] for r in lexical.records}


def test_writes_with_other_chunk_settings_are_refused(
    desk: Desk, index_name: str, backend_settings: Settings, tmp_path: Path
) -> None:

    desk.ingest_paths([write(tmp_path / "news.jsonl", NEWS[:2])], index_name)
    before = chunk_ids(desk, index_name)
    assert desk.index(index_name).built_with["chunk_max_tokens"] == 200
    other = Desk(backend_settings.model_copy(update={"chunk_max_tokens": 64}), desk.embedder)
    with pytest.raises(ChunkSettingsMismatch, match="NEWSDESK_CHUNK_MAX_TOKENS=200"):
        other.ingest_paths([write(tmp_path / "more.jsonl", NEWS[2:])], index_name)
    assert chunk_ids(desk, index_name) == before
    assert other.search("storm closed ports", 2, index=index_name)  # reading is fine
