"""A Newsdesk index in Chroma: with `rag.store.folders` (which finds it), the only module that
speaks Chroma.

An index is three collections: `chunks` (one record a chunk: our embedding, the chunk's text,
its article's metadata and its sentence spans), `articles` (one record an article: the body
and metadata, plus the content hash that marks it complete) and `writes` (one record a
finished write, so every process can tell it has missed one). Embedded, an index is the folder
`indexes/<name>/`; against a Chroma server (settings.chroma_host), it is the collections
`<name>.chunks`, `<name>.articles` and `<name>.writes` on that server. Beside them is the
lexical index (rag/store/lexical.py): `indexes/<name>/lexical/`, or `<index_dir>/.lexical/<name>/`
with a server. Processes sharing that folder share it; a process with a folder of its own (a
replica) catches up with the writes of the others before it searches.

The chunks collection records which embedder, dimension and chunker built it; opening it with
another embedder fails with the command that rebuilds it.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

from rag.config import Settings
from rag.errors import (
    UnknownArticle,
)
from rag.store.folders import check_chunk_settings, lexical_path, open_collections
from rag.store.lexical import LexicalIndex, Snapshot
from rag.types import Article, ChunkRecord, Filters, embed_text

# Chroma needs an embedding on every record; article records are looked up by id only.
_NO_VECTOR = [1.0]


def _where(filters: Filters | None) -> dict[str, Any] | None:
    if not filters:
        return None
    clauses: list[dict[str, Any]] = []
    if filters.sources:
        clauses.append({"source": {"$in": list(filters.sources)}})
    if filters.published_after is not None:
        clauses.append({"published_at": {"$gte": filters.published_after}})
    if filters.published_before is not None:
        clauses.append({"published_at": {"$lte": filters.published_before}})
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}


def _article_from(record_id: str, body: str, meta: dict[str, Any]) -> Article:
    return Article(
        id=record_id,
        title=meta["title"],
        body=body,
        source=meta.get("source"),
        url=meta.get("url"),
        published_at=meta.get("published_at"),
        author=meta.get("author"),
        category=meta.get("category"),
        updated_at=meta.get("updated_at"),
    )


class Index:
    """Open with `Index.open`; every method returns our own types, never Chroma's dicts."""

    def __init__(
        self,
        name: str,
        location: str,
        client: Any,
        chunks: Any,
        articles: Any,
        writes: Any,
        lexical_path: Path,
    ):
        self.name = name
        self.location = location
        self._client = client
        self._chunks = chunks
        self._articles = articles
        self._writes = writes
        self._lexical_path = lexical_path
        self._lexical: LexicalIndex | None = None
        self._lexical_lock = threading.Lock()
        self._catching_up = threading.Lock()

    # --- opening -----------------------------------------------------------------------------
    @classmethod
    def open(
        cls, settings: Settings, name_or_path: str, embedder_name: str, dim: int, create: bool
    ) -> Index:
        """Open an index; with `create`, make it if it does not exist yet."""
        name, location, client, (chunks, articles, writes) = open_collections(
            settings, name_or_path, create, {"embedder": embedder_name, "dim": dim}
        )
        return cls(
            name, location, client, chunks, articles, writes, lexical_path(settings, name, location)
        )

    @property
    def lexical(self) -> LexicalIndex:
        """The lexical index, in step with every write made so far: built from the chunks here
        when it is first used, caught up when another process has written since."""
        with self._lexical_lock:
            if self._lexical is None:
                lexical = LexicalIndex(self._lexical_path)
                generation = self.generation
                if lexical.generation is None:
                    lexical.rebuild(lambda: self._complete_chunks(lexical), generation)
                self._lexical = lexical
        self._catch_up(self._lexical)
        return self._lexical

    def _catch_up(self, lexical: LexicalIndex) -> None:
        """Bring the lexical index in step with the store (`LexicalIndex.catch_up`) when a
        write has been logged since it last was. One thread catches up at a time; the others
        read the last commit meanwhile."""
        generation = self.generation  # read first: a write logged after it is seen next time
        if lexical.generation == generation or not self._catching_up.acquire(blocking=False):
            return
        try:
            lexical.catch_up(self.article_hashes(), self._chunks_of, generation)
        finally:
            self._catching_up.release()

    def _chunks_of(self, article_ids: Sequence[str]) -> dict[str, list[ChunkRecord]]:
        """The chunks the store holds for these articles, by article."""
        found: dict[str, list[ChunkRecord]] = {}
        for start in range(0, len(article_ids), 500):
            got = self._chunks.get(
                where={"article_id": {"$in": list(article_ids[start : start + 500])}},
                include=["metadatas", "documents"],
            )
            for i, d, m in zip(got["ids"], got["documents"], got["metadatas"], strict=True):
                found.setdefault(m["article_id"], []).append(ChunkRecord(i, d, m))
        return found

    def _complete_chunks(self, lexical: LexicalIndex) -> list[ChunkRecord]:
        """The chunks of complete articles, and those a write in flight has published (it
        publishes its chunks before it writes their article's record)."""
        hashes = self.article_hashes()
        published = {r.id for r in lexical.all_records()}
        return [
            r
            for r in self.all_chunks()
            if r.id in published or hashes.get(r.meta["article_id"]) == r.meta["content_hash"]
        ]

    def publish_chunks(self, article_ids: Sequence[str], records: Sequence[ChunkRecord]) -> None:
        """Make these articles' chunks (all of them, and only them) searchable, in one commit."""
        self.lexical.replace_articles(article_ids, records)

    # --- articles ----------------------------------------------------------------------------
    def article_hashes(self, ids: Sequence[str] | None = None) -> dict[str, str]:
        """Content hash of every complete article (or of those of `ids` that exist)."""
        return {i: m["content_hash"] for i, m in self.article_meta(ids).items()}

    def article_meta(self, ids: Sequence[str] | None = None) -> dict[str, dict[str, Any]]:
        """The stored fields (no body) of every complete article, or of those of `ids`."""
        got = self._articles.get(ids=list(ids) if ids is not None else None, include=["metadatas"])
        return dict(zip(got["ids"], got["metadatas"], strict=True))

    def put_articles(
        self, done: Sequence[tuple[Article, Sequence[tuple[int, int]], str | None]]
    ) -> None:
        """Written last in an ingest: a record says its article's chunks are complete. Each
        carries its `flags` entry as JSON ("null": none), or no entry if it was not read."""
        if not done:
            return
        self._articles.upsert(
            ids=[article.id for article, _, _ in done],
            embeddings=[_NO_VECTOR] * len(done),
            documents=[article.body for article, _, _ in done],
            metadatas=[
                article.meta()
                | {"content_hash": article.content_hash, "spans": json.dumps(list(spans))}
                | ({} if flags is None else {"flags": flags})
                for article, spans, flags in done
            ],
        )

    def get_article(self, article_id: str) -> tuple[Article, list[tuple[int, int]]]:
        got = self._articles.get(ids=[article_id], include=["metadatas", "documents"])
        if not got["ids"]:
            raise UnknownArticle(f"no article {article_id!r} in index {self.name!r}")
        meta = got["metadatas"][0]
        spans = [tuple(p) for p in json.loads(meta["spans"])]
        return _article_from(article_id, got["documents"][0], meta), spans  # type: ignore[misc]

    def flags(self, ids: Sequence[str] | None = None) -> dict[str, list[dict[str, Any]] | None]:
        """The `flags` of these (or all) articles: a list of entries, empty for an article read
        and found clean, None for one indexed without reading its sentences."""
        out: dict[str, list[dict[str, Any]] | None] = {}
        if ids is not None and not ids:
            return out
        for article_id, meta in self.article_meta(ids).items():
            stored = meta.get("flags")
            entry = None if stored is None else json.loads(stored)
            out[article_id] = None if stored is None else [entry] if entry else []
        return out

    def flagged(self) -> dict[str, list[dict[str, Any]]]:
        """The flags of every flagged article (clean articles are not read; Chroma's `$ne` also
        matches those indexed without flags, which are left out here)."""
        got = self._articles.get(where={"flags": {"$ne": "null"}}, include=["metadatas"])
        return {
            i: [json.loads(m["flags"])]
            for i, m in zip(got["ids"], got["metadatas"], strict=True)
            if "flags" in m
        }

    def list_articles(
        self, filters: Filters | None = None, limit: int = 50, offset: int = 0
    ) -> list[Article]:
        got = self._articles.get(
            where=_where(filters), limit=limit, offset=offset, include=["metadatas", "documents"]
        )
        return [
            _article_from(i, d, m)
            for i, d, m in zip(got["ids"], got["documents"], got["metadatas"], strict=True)
        ]

    def delete_article(self, article_id: str) -> None:
        """Chunks first, then the record: a crash in between leaves a record to delete again."""
        has_record = bool(self._articles.get(ids=[article_id], include=[])["ids"])
        has_chunks = bool(self._chunks.get(where={"article_id": article_id}, include=[])["ids"])
        if not has_record and not has_chunks:
            raise UnknownArticle(f"no article {article_id!r} in index {self.name!r}")
        self.publish_chunks([article_id], [])  # unsearchable first
        self._chunks.delete(where={"article_id": article_id})
        self._articles.delete(ids=[article_id])

    # --- chunks ------------------------------------------------------------------------------
    def existing_chunk_ids(self, ids: Sequence[str]) -> set[str]:
        if not ids:
            return set()
        return set(self._chunks.get(ids=list(ids), include=[])["ids"])

    def upsert_chunks(
        self,
        ids: Sequence[str],
        embeddings: Sequence[Sequence[float]],
        texts: Sequence[str],
        metas: Sequence[dict[str, Any]],
    ) -> None:
        self._chunks.upsert(
            ids=list(ids),
            embeddings=[list(e) for e in embeddings],
            documents=list(texts),
            metadatas=list(metas),
        )

    def vectors_for_texts(
        self, article_ids: set[str], wanted: set[str]
    ) -> dict[str, tuple[list[float], str | None]]:
        """Vectors already stored for these articles' chunks, keyed by the text embedded, each
        with the directives read in it as stored (JSON; None if it was not read)."""
        if not article_ids or not wanted:
            return {}
        got = self._chunks.get(
            where={"article_id": {"$in": sorted(article_ids)}},
            include=["embeddings", "documents", "metadatas"],
        )
        found: dict[str, tuple[list[float], str | None]] = {}
        for text, meta, vector in zip(
            got["documents"], got["metadatas"], got["embeddings"], strict=True
        ):
            key = embed_text(meta["title"], text)
            if key in wanted:
                read = meta.get("directives")
                found[key] = ([float(x) for x in vector], None if read is None else str(read))
        return found

    def delete_stale_chunks(self, article_ids: Sequence[str], keep: Iterable[str]) -> int:
        """Remove these articles' chunks that are not in `keep` (older versions, or left by an
        ingest that was killed while writing another version)."""
        if not article_ids:
            return 0
        have = self._chunks.get(where={"article_id": {"$in": list(article_ids)}}, include=[])
        stale = sorted(set(have["ids"]) - set(keep))
        if stale:
            self._chunks.delete(ids=stale)
        return len(stale)

    def dense_search(
        self,
        embedding: Sequence[float],
        n: int,
        filters: Filters | None = None,
        snapshot: Snapshot | None = None,
    ) -> list[ChunkRecord]:
        """The n nearest complete chunks. Chroma returns only ids and distances; the records
        come from the lexical index (`snapshot`: the view the caller searches too), which holds
        exactly the chunks of complete articles."""
        # Chroma returns fewer than n when there are fewer; no count() (it grows with the index).
        got = self._chunks.query(
            query_embeddings=[list(embedding)],
            n_results=n,
            where=_where(filters),
            include=["distances"],
        )
        ids, distances = got["ids"][0], got["distances"][0]
        records = (snapshot or self.lexical.snapshot()).records(ids)
        return [
            replace(records[i], similarity=1.0 - dist)
            for i, dist in zip(ids, distances, strict=True)
            if i in records  # being written, or being deleted
        ]

    def chunks_by_id(self, ids: Sequence[str]) -> dict[str, ChunkRecord]:
        got = self._chunks.get(ids=list(ids), include=["metadatas", "documents"])
        return {
            i: ChunkRecord(i, d, m)
            for i, d, m in zip(got["ids"], got["documents"], got["metadatas"], strict=True)
        }

    def all_chunks(self, page: int = 20_000, vectors: bool = False) -> list[ChunkRecord]:
        """Every chunk's text and metadata (and, with `vectors`, its embedding). Large pages:
        Chroma re-reads everything before an offset, so small pages cost time quadratic in the
        index size; one unbounded read fails past SQLite's variable limit (about 32k records).
        """
        include = ["metadatas", "documents"] + (["embeddings"] if vectors else [])
        records: list[ChunkRecord] = []
        while True:
            got = self._chunks.get(limit=page, offset=len(records), include=include)
            ids, embedded = got["ids"], got["embeddings"] if vectors else [None] * len(got["ids"])
            records += [
                ChunkRecord(i, d, m, vector=None if v is None else [float(x) for x in v])
                for i, d, m, v in zip(
                    ids, got["documents"], got["metadatas"], embedded, strict=True
                )
            ]
            if len(got["ids"]) < page:
                return records

    # --- bookkeeping -------------------------------------------------------------------------
    def chunk_count(self) -> int:
        return self._chunks.count()

    def article_count(self) -> int:
        return self._articles.count()

    @property
    def built_with(self) -> dict[str, Any]:
        return dict(self._chunks.metadata or {})

    def check_chunk_settings(self, settings: Settings) -> None:
        """Before a write: new chunks must be cut like the ones already in the index."""
        check_chunk_settings(self.name, self.built_with, settings)

    @property
    def generation(self) -> int:
        """How many writes have finished, so caches built on the chunks (BM25) know they are
        stale. One record a write, never a counter read and rewritten: two processes writing at
        once each add their own, and no write goes uncounted."""
        return int(self._writes.count())

    @contextmanager
    def writing(self) -> Iterator[None]:
        """Around every write: its end is logged for every process, and the lexical index here
        (which the write updated itself) stays in step if no other write came in meanwhile."""
        before = self.generation
        yield
        self._writes.add(
            ids=[uuid.uuid4().hex], embeddings=[_NO_VECTOR], metadatas=[{"at": time.time()}]
        )
        after = self.generation
        lexical = self._lexical
        if lexical is not None and lexical.generation == before and after == before + 1:
            lexical.set_generation(after)

    def stats(self) -> dict[str, Any]:
        """Counts and how the index was built; reading them rebuilds nothing."""
        lexical = self._lexical or (
            LexicalIndex(self._lexical_path) if self._lexical_path.exists() else None
        )
        return {
            "name": self.name,
            "location": self.location,
            "articles": self.article_count(),
            "chunks": self.chunk_count(),
            # chunks searchable by BM25, and whether that index is in step with the chunks
            "lexical_chunks": lexical.count() if lexical is not None else 0,
            "lexical_in_step": lexical is not None and lexical.generation == self.generation,
            # articles holding sentences that tell their reader what to do
            # (`rag.ingestion.directives`)
            "flagged": self.flagged(),
            **{k: v for k, v in self.built_with.items() if k != "generation"},
        }
