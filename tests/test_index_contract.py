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
    assert stats["lexical_chunks"] == stats["chunks"] and stats["lexical_in_step"] is True

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


def test_chunks_come_with_the_vectors_they_are_searched_by(desk: Desk, index_name: str) -> None:
    """What a copy of an index needs to skip embedding: each chunk's stored vector, the one a
    dense search compares the query with."""
    desk.ingest_paths([SEEDS], index_name)
    index = desk.index(index_name)
    records = index.all_chunks(vectors=True)
    assert records and all(r.vector and len(r.vector) == desk.embedder.dim for r in records)
    assert all(r.vector is None for r in index.all_chunks())
    query = records[0].vector
    (best, *_) = index.dense_search(query, 1)
    assert best.id == records[0].id and best.similarity == pytest.approx(1.0, abs=1e-3)


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


def test_a_replica_with_its_own_folder_catches_up_with_writes_made_elsewhere(
    chroma_server: tuple[str, int], index_name: str, embedder: object, tmp_path: Path
) -> None:
    """Two processes on one Chroma server, each with its own lexical folder: what the first
    adds, edits and deletes is what the second searches, in both halves, at its next search."""
    host, port = chroma_server
    first, second = (
        Desk(Settings(index_dir=tmp_path / folder, chroma_host=host, chroma_port=port), embedder)  # type: ignore[arg-type]
        for folder in ("one", "two")
    )
    first.ingest_paths([write(tmp_path / "a.jsonl", NEWS[:2])], index_name)
    assert second.search("storm closed three ports", 1, index=index_name)[0].article_id == (
        "courier-1"
    )  # the second has built its lexical index and serves from it

    first.ingest_paths([write(tmp_path / "b.jsonl", NEWS[2:])], index_name)
    edited = dict(NEWS[1], body="Fog delayed ferries along the north shore.")
    first.ingest_paths([write(tmp_path / "c.jsonl", [edited])], index_name)
    first.delete_article("ledger-1", index_name)

    assert second.search("bank profits climbed", 1, index=index_name)[0].article_id == "ledger-2"
    lexical = second.index(index_name).lexical
    assert {r.id for r in lexical.all_records()} == chunk_ids(first, index_name)
    assert [r.meta["article_id"] for r in lexical.search("ferries fog", 5)] == ["courier-1"]
    assert not lexical.search("vigilant", 5)  # the deleted article is gone from BM25 too
    assert all(
        "storm" not in s.text
        for hit in second.search("storm closed three ports", 10, index=index_name)
        for s in hit.sentences
    )
    assert second.index(index_name).stats()["lexical_in_step"] is True


def test_searches_see_only_complete_articles(desk: Desk, index_name: str, tmp_path: Path) -> None:
    """Chunks an ingest has written to Chroma but not yet published are not shown; dense hits
    carry the same text and metadata as Chroma holds."""
    from rag.ingestion.articles import make_article
    from rag.ingestion.ingest import chunk_meta, plan_chunks

    desk.ingest_paths([write(tmp_path / "news.jsonl", NEWS[:2])], index_name)
    index = desk.index(index_name)
    vector = desk.embedder.embed_query("Which ports did the storm close?")
    dense = index.dense_search(vector, 5)
    stored = index.chunks_by_id([r.id for r in dense])
    assert dense
    assert [(r.text, r.meta) for r in dense] == [
        (stored[r.id].text, stored[r.id].meta) for r in dense
    ]

    # An ingest in flight: the chunks of a new article are in Chroma, not yet published.
    article = make_article(
        {"id": "courier-2", "title": "Storm closes more ports", "source": "Coast Courier",
         "body": "The storm closed four more ports on the east coast."},
        "test", 10_000,
    )  # fmt: skip
    [(_, _, chunks)] = plan_chunks([article], desk.embedder, desk.settings)
    texts = [article.body[c.char_start : c.char_end] for c in chunks]
    index.upsert_chunks(
        [c.id for c in chunks],
        desk.embedder.embed(texts),
        texts,
        [chunk_meta(article, c) for c in chunks],
    )
    hits = desk.search("storm closed four more ports", 10, index=index_name)
    assert hits and all(h.article_id != "courier-2" for h in hits)
    desk.ingest_articles([article], index_name)  # the ingest finishes: now it is shown
    assert desk.search("storm closed four more ports", 1, index=index_name)[0].article_id == (
        "courier-2"
    )


def test_a_deleted_article_is_gone_from_both_halves_at_once(
    desk: Desk, index_name: str, tmp_path: Path
) -> None:
    desk.ingest_paths([write(tmp_path / "news.jsonl", NEWS)], index_name)
    assert desk.search("storm closed three ports", 3, index=index_name)[0].article_id == (
        "courier-1"
    )
    desk.delete_article("courier-1", index_name)
    index = desk.index(index_name)
    assert all(
        h.article_id != "courier-1" for h in desk.search("storm ports", 10, index=index_name)
    )
    assert all(r.meta["article_id"] != "courier-1" for r in index.lexical.search("storm", 10))
    assert "Coast Courier" not in desk.retriever(index_name).outlets()


def test_a_lagging_lexical_index_is_rebuilt_from_the_chunks(
    backend_settings: Settings, index_name: str, embedder: object, tmp_path: Path
) -> None:
    """An index written without its lexical half (or by a process that did not share its
    folder) gets it rebuilt on first use, holding the complete articles only."""
    import shutil

    first = Desk(backend_settings, embedder=embedder)  # type: ignore[arg-type]
    first.ingest_paths([write(tmp_path / "news.jsonl", NEWS)], index_name)
    path = first.index(index_name).lexical.path
    want = {r.id for r in first.index(index_name).lexical.all_records()}
    assert want == chunk_ids(first, index_name)
    shutil.rmtree(path)
    reopened = Desk(backend_settings, embedder=embedder)  # type: ignore[arg-type]
    stats = reopened.index(index_name).stats()  # reading the stats rebuilds nothing
    assert (stats["lexical_chunks"], stats["lexical_in_step"]) == (0, False)
    assert reopened.search("Winds reached 120 mph", 1, index=index_name)[0].article_id == (
        "courier-1"
    )
    assert {r.id for r in reopened.index(index_name).lexical.all_records()} == want
    assert reopened.index(index_name).stats()["lexical_in_step"] is True


def test_searches_go_on_while_articles_are_written(
    desk: Desk, index_name: str, tmp_path: Path
) -> None:
    """A reader searching while another thread rewrites an article sees one whole version of
    it in each result, never a mix of versions or a gap."""
    import threading

    desk.ingest_paths([write(tmp_path / "news.jsonl", NEWS)], index_name)
    versions = [
        dict(
            NEWS[1], body=f"A storm closed {n} ports on the east coast.\n\nWinds reached 1{n}0 mph."
        )
        for n in range(2, 9)
    ]
    done = threading.Event()
    seen: list[set[str]] = []

    def read() -> None:
        while not done.is_set():
            hits = desk.search("storm closed ports winds", 10, index=index_name)
            seen.append({h.chunk_id.split(":")[0] for h in hits if h.article_id == "courier-1"})

    reader = threading.Thread(target=read)
    reader.start()
    try:
        for n, version in enumerate(versions):
            desk.ingest_paths([write(tmp_path / f"v{n}.jsonl", [version])], index_name)
    finally:
        done.set()
        reader.join(60)
    assert seen
    assert all(len(ids) == 1 for ids in seen)  # always found, one version at a time
    assert "180 mph" in " ".join(
        s.text for s in desk.search("winds mph", 1, index=index_name)[0].sentences
    )


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


def test_dropping_an_index_leaves_nothing_of_it(
    desk: Desk, index_name: str, tmp_path: Path
) -> None:
    """Every collection of the index (chunks, articles and the log of its writes) goes, on a
    Chroma server as in a folder, and the name is free for a new index."""
    import chromadb

    desk.ingest_paths([write(tmp_path / "news.jsonl", NEWS)], index_name)
    desk.drop(index_name)
    settings = desk.settings
    if settings.chroma_host is not None:
        client = chromadb.HttpClient(host=settings.chroma_host, port=settings.chroma_port)
        names = [getattr(c, "name", c) for c in client.list_collections()]
        assert not [n for n in names if n.startswith(f"{index_name}.")]
    else:
        assert not (settings.index_dir / index_name).exists()
    with pytest.raises(UnknownIndex):
        desk.search("rates", 3, index=index_name)
    desk.ingest_paths([write(tmp_path / "again.jsonl", NEWS[:1])], index_name)
    assert desk.index(index_name).generation == 1  # a new index, not the old one's log


def test_writes_ending_at_once_leave_the_lexical_state_whole(tmp_path: Path) -> None:
    """A write's end and a search catching up may record the lexical index's generation at the
    same moment (as may replicas sharing a folder): neither fails, and the record read after
    is one of theirs, whole."""
    import threading

    from rag.store.lexical import LexicalIndex

    lexical = LexicalIndex(tmp_path / "lexical")
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def record(offset: int) -> None:
        start.wait()
        try:
            for n in range(200):
                lexical.set_generation(offset + n)
        except BaseException as exc:  # noqa: BLE001 - collected for the assertion
            errors.append(exc)

    threads = [threading.Thread(target=record, args=(k * 1000,)) for k in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert lexical.generation is not None and lexical.generation % 1000 == 199
    assert [p.name for p in (tmp_path / "lexical").glob("*.tmp")] == []
