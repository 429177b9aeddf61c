"""A Newsdesk index in Chroma: the only module that speaks Chroma.

An index is three collections: `chunks` (one record a chunk: our embedding, the chunk's text,
its article's metadata and its sentence spans), `articles` (one record an article: the body
and metadata, plus the content hash that marks it complete) and `writes` (one record a
finished write, so every process can tell it has missed one). Embedded, an index is the folder
`indexes/<name>/`; against a Chroma server (settings.chroma_host), it is the collections
`<name>.chunks`, `<name>.articles` and `<name>.writes` on that server. Beside them is the
lexical index (rag/lexical.py): `indexes/<name>/lexical/`, or `<index_dir>/.lexical/<name>/`
with a server. Processes sharing that folder share it; a process with a folder of its own (a
replica) catches up with the writes of the others before it searches.

The chunks collection records which embedder, dimension and chunker built it; opening it with
another embedder fails with the command that rebuilds it.
"""

from __future__ import annotations

import json
import re
import shutil
import threading
import time
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

from rag.chunking import CHUNKER_VERSION, embed_text
from rag.config import Settings
from rag.errors import (
    ChunkSettingsMismatch,
    CorruptIndex,
    EmbedderMismatch,
    IndexUnavailable,
    NotAnIndex,
    UnknownArticle,
    UnknownIndex,
)
from rag.lexical import LexicalIndex, Snapshot
from rag.types import Article, ChunkRecord, Filters

INDEX_FORMAT = 1
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$")
CHUNK_SETTINGS = ("chunk_max_tokens", "chunk_overlap_sentences")
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
        name, location, client = _connect(settings, name_or_path, create)
        prefix = "" if settings.chroma_host is None else f"{name}."
        expected = {
            "embedder": embedder_name,
            "dim": dim,
            "chunker_version": CHUNKER_VERSION,
            "format": INDEX_FORMAT,
        }
        # Recorded when the index is made (an existing collection keeps its metadata).
        chunking = {k: getattr(settings, k) for k in CHUNK_SETTINGS}
        try:
            if create:
                chunks = client.get_or_create_collection(
                    f"{prefix}chunks",
                    metadata=expected | chunking,
                    embedding_function=None,
                    configuration={"hnsw": {"space": "cosine"}},
                )
                articles = client.get_or_create_collection(
                    f"{prefix}articles", embedding_function=None
                )
            else:
                chunks = client.get_collection(f"{prefix}chunks", embedding_function=None)
                articles = client.get_collection(f"{prefix}articles", embedding_function=None)
            # Indexes made before the log have none yet: it starts at their first write.
            writes = client.get_or_create_collection(f"{prefix}writes", embedding_function=None)
        except Exception as exc:
            if type(exc).__name__ == "NotFoundError":
                if settings.chroma_host is None:
                    raise CorruptIndex(
                        f"{location} holds no Newsdesk index; delete the folder and ingest again",
                        public=f"the index {name!r} cannot be read",
                    ) from exc
                raise UnknownIndex(
                    f"no index {name!r} on the Chroma server {location}",
                    public=f"no index {name!r}",
                ) from exc
            raise _chroma_error(exc, location) from exc
        _check_built_with(name, location, chunks.metadata or {}, expected)
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
        """Replace the articles whose version here differs from the store's.

        An article whose held version has chunks in the store but no record yet is being
        written by a process sharing this folder: it is left to that write, whose end is
        logged and brings another catch-up. One thread catches up at a time; the others read
        the last commit meanwhile."""
        generation = self.generation  # read first: a write logged after it is seen next time
        if lexical.generation == generation or not self._catching_up.acquire(blocking=False):
            return
        try:
            stored = self.article_hashes()
            held = lexical.versions()
            differ = sorted(
                a for a in set(stored) | set(held) if held.get(a, set()) != _version(stored, a)
            )
            chunks = self._chunks_of(differ)
            replace_ids, records = [], []
            for article_id in differ:
                extra = held.get(article_id, set()) - _version(stored, article_id)
                in_store = {r.meta["content_hash"] for r in chunks.get(article_id, [])}
                if extra and extra <= in_store:
                    continue  # in flight
                replace_ids.append(article_id)
                records += [
                    r
                    for r in chunks.get(article_id, [])
                    if {r.meta["content_hash"]} == _version(stored, article_id)
                ]
            if replace_ids:
                lexical.replace_articles(replace_ids, records)
            lexical.set_generation(generation)
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
    ) -> dict[str, tuple[list[float], list[int] | None]]:
        """Vectors already stored for these articles' chunks, keyed by the text embedded, each
        with the directives read in it (None if it was not read)."""
        if not article_ids or not wanted:
            return {}
        got = self._chunks.get(
            where={"article_id": {"$in": sorted(article_ids)}},
            include=["embeddings", "documents", "metadatas"],
        )
        found: dict[str, tuple[list[float], list[int] | None]] = {}
        for text, meta, vector in zip(
            got["documents"], got["metadatas"], got["embeddings"], strict=True
        ):
            key = embed_text(meta["title"], text)
            if key in wanted:
                read = meta.get("directives")
                found[key] = (
                    [float(x) for x in vector],
                    None if read is None else json.loads(read),
                )
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

    def all_chunks(self, page: int = 20_000) -> list[ChunkRecord]:
        """Every chunk's text and metadata, for the lexical index.

        Large pages: Chroma re-reads everything before an offset, so small pages cost time
        quadratic in the index size; one unbounded read fails past SQLite's variable limit
        (about 32k records).
        """
        records: list[ChunkRecord] = []
        while True:
            got = self._chunks.get(
                limit=page, offset=len(records), include=["metadatas", "documents"]
            )
            records += [
                ChunkRecord(i, d, m)
                for i, d, m in zip(got["ids"], got["documents"], got["metadatas"], strict=True)
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
        built = self.built_with
        differ = {
            k: built[k]
            for k in CHUNK_SETTINGS
            if built.get(k) is not None and built[k] != getattr(settings, k)
        }
        if differ:
            recorded = ", ".join(f"NEWSDESK_{k.upper()}={v}" for k, v in differ.items())
            raise ChunkSettingsMismatch(
                f"index {self.name!r} was chunked with {recorded}; write to it with those "
                f"settings, or rebuild it: newsdesk index drop {self.name} && "
                f"newsdesk ingest PATH... --index {self.name}"
            )

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
            # articles holding sentences that tell their reader what to do (`rag.directives`)
            "flagged": self.flagged(),
            **{k: v for k, v in self.built_with.items() if k != "generation"},
        }


def _version(hashes: dict[str, str], article_id: str) -> set[str]:
    return {hashes[article_id]} if article_id in hashes else set()


def _check_built_with(
    name: str, location: str, actual: dict[str, Any], expected: dict[str, Any]
) -> None:
    for key in ("embedder", "dim"):
        if actual.get(key) != expected[key]:
            raise EmbedderMismatch(
                f"index {name!r} was built with {actual.get('embedder')} "
                f"(dim {actual.get('dim')}), not {expected['embedder']} (dim {expected['dim']}); "
                f"rebuild it: newsdesk index drop {name} && newsdesk ingest PATH... --index {name}"
            )
    if actual.get("chunker_version") != CHUNKER_VERSION:
        raise EmbedderMismatch(
            f"index {name!r} was chunked by chunker v{actual.get('chunker_version')}, this is "
            f"v{CHUNKER_VERSION}; rebuild it: newsdesk index drop {name} && "
            f"newsdesk ingest PATH... --index {name}"
        )


def _chroma_error(exc: Exception, location: str) -> Exception:
    text = str(exc)
    if any(s in text for s in ("Connection", "connect", "timed out", "Could not")):
        return IndexUnavailable(
            f"Chroma at {location} does not answer: {text}",
            public="the index store does not answer",
        )
    return CorruptIndex(
        f"index at {location} cannot be read ({type(exc).__name__}: {text})",
        public="the index cannot be read",
    )


def resolve_path(settings: Settings, name_or_path: str) -> tuple[str, Path]:
    """`--index` takes a name under settings.index_dir or a path to an index folder."""
    if _NAME.match(name_or_path):
        return name_or_path, settings.index_dir / name_or_path
    path = Path(name_or_path).expanduser()
    if path.name and _NAME.match(path.name) and ("/" in name_or_path or name_or_path[0] == "."):
        return path.name, path
    raise UnknownIndex(
        f"{name_or_path!r} is neither an index name (letters, digits, '-', '_') nor a path"
    )


def lexical_path(settings: Settings, name: str, location: str) -> Path:
    if settings.chroma_host is None:
        return Path(location) / "lexical"
    return settings.index_dir / ".lexical" / name


def _connect(settings: Settings, name_or_path: str, create: bool) -> tuple[str, str, Any]:
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False)
    if settings.chroma_host is not None:
        if not _NAME.match(name_or_path):
            raise UnknownIndex(f"{name_or_path!r} is not an index name on a Chroma server")
        location = f"http://{settings.chroma_host}:{settings.chroma_port}"
        try:
            client = chromadb.HttpClient(
                host=settings.chroma_host, port=settings.chroma_port, settings=chroma_settings
            )
        except Exception as exc:
            raise IndexUnavailable(
                f"Chroma at {location} does not answer: {exc}",
                public="the index store does not answer",
            ) from exc
        return name_or_path, location, client

    name, path = resolve_path(settings, name_or_path)
    if not path.exists() and not create:
        known = ", ".join(list_indexes(settings)) or "none yet"
        raise UnknownIndex(
            f"no index {name!r} at {path} (indexes: {known}); build it with "
            f"newsdesk ingest PATH... --index {name_or_path}",
            public=f"no index {name!r}",
        )
    if path.exists() and not (path / "chroma.sqlite3").is_file() and any(path.iterdir()):
        raise CorruptIndex(
            f"{path} is not a Chroma index folder; delete it and ingest again",
            public=f"the index {name!r} cannot be read",
        )
    try:
        client = chromadb.PersistentClient(path=str(path), settings=chroma_settings)
    except Exception as exc:
        raise CorruptIndex(
            f"index at {path} cannot be opened ({exc}); delete it and ingest again",
            public=f"the index {name!r} cannot be read",
        ) from exc
    return name, str(path), client


def list_indexes(settings: Settings) -> list[str]:
    if not settings.index_dir.is_dir():
        return []
    return sorted(p.name for p in settings.index_dir.iterdir() if (p / "chroma.sqlite3").is_file())


def drop_index(settings: Settings, name_or_path: str) -> None:
    """Delete a whole index (embedded: its folder; server: its collections)."""
    if settings.chroma_host is not None:
        name, location, client = _connect(settings, name_or_path, create=False)
        found = False
        for suffix in ("chunks", "articles", "writes"):
            try:
                client.delete_collection(f"{name}.{suffix}")
                found = True
            except Exception as exc:
                if type(exc).__name__ != "NotFoundError":
                    raise _chroma_error(exc, location) from exc
        if not found:
            raise UnknownIndex(f"no index {name!r} on the Chroma server {location}")
        shutil.rmtree(lexical_path(settings, name, location), ignore_errors=True)
        return
    name, path = resolve_path(settings, name_or_path)
    if not path.exists():
        raise UnknownIndex(f"no index {name!r} at {path}")
    if not (path / "chroma.sqlite3").is_file() and any(path.iterdir()):
        raise NotAnIndex(f"{path} holds no Chroma index (no chroma.sqlite3); nothing was deleted")
    from chromadb.api.client import SharedSystemClient

    # Chroma caches one client per path in-process; forget it before the folder goes.
    SharedSystemClient.clear_system_cache()
    shutil.rmtree(path)
