"""The lexical half of an index: BM25 over the chunks in tantivy, updated with every write.

Dense search finds paraphrases; BM25 finds the names, numbers and outlet names a small
embedding model blurs. The chunks (outlet, headline and text, tokenised and stemmed as bm25s
does) live in a tantivy index beside the Chroma collections, with their text and metadata
stored, so searches read whole records from it and Chroma only ranks by vector.

A write replaces the documents of the articles it touches and commits: it costs in proportion
to the write, not the corpus (bench/lexical_backends.py). A commit is atomic, and searches go
on reading the last commit while one is written, so a search never sees half an article. An
ingest commits here before it writes the article record, and a delete removes the documents
here first: the lexical index is the list of complete chunks, and a dense hit it does not hold
(being written, or being deleted) is not shown.

The index records the generation of the store it reflects (how many writes it has seen, see
`Index.generation`) and, for each article, the version (content hash) of the chunks it holds,
so a process that lags behind writes made elsewhere (a replica with its own folder on a shared
Chroma server) catches up by replacing only the articles whose version differs.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from rag.errors import IndexUnavailable
from rag.types import ChunkRecord, Filters

STATE = "newsdesk-lexical.json"
FORMAT = 2  # 2: each chunk carries its article's version
WRITER_HEAP = 50_000_000
WRITER_WAIT_S = 60.0
# One writer per folder at a time: in this process by this lock, across processes by tantivy's.
_writers: dict[str, threading.Lock] = {}
_writers_lock = threading.Lock()


def lexical_text(title: str, source: str | None, text: str) -> str:
    return f"{source or ''} {title} {text}"


def tokens(texts: Sequence[str]) -> list[list[str]]:
    """Lower-cased, stop words (bm25s's English list) removed, Snowball-stemmed."""
    import bm25s

    return bm25s.tokenize(
        list(texts), stopwords="en", stemmer=_stemmer(), return_ids=False, show_progress=False
    )


_stemmers: list[Any] = []


def _stemmer() -> Any:
    if not _stemmers:
        import Stemmer

        _stemmers.append(Stemmer.Stemmer("english"))
    return _stemmers[0]


def _schema() -> Any:
    import tantivy

    schema = tantivy.SchemaBuilder()
    schema.add_text_field("id", stored=True, tokenizer_name="raw")
    schema.add_text_field("article_id", tokenizer_name="raw")
    # "<content hash>:<article id>", read by aggregation to tell which version is held
    schema.add_text_field("version", tokenizer_name="raw", fast=True)
    schema.add_text_field("source", tokenizer_name="raw", fast=True)
    schema.add_integer_field("published_at", indexed=True, fast=True)
    schema.add_text_field("tokens", tokenizer_name="whitespace", index_option="freq")
    schema.add_bytes_field("record", stored=True, indexed=False)  # text and metadata, as JSON
    return schema.build()


class LexicalIndex:
    def __init__(self, path: Path) -> None:
        import tantivy

        self.path = path
        if _format(path) not in (None, FORMAT):
            shutil.rmtree(path)  # an older layout: rebuilt from the store on first use
        path.mkdir(parents=True, exist_ok=True)
        self._schema = _schema()
        try:
            self._index = tantivy.Index(self._schema, path=str(path), reuse=True)
        except (OSError, ValueError) as exc:
            raise IndexUnavailable(f"the lexical index at {path} cannot be opened: {exc}") from exc
        with _writers_lock:
            self._write_lock = _writers.setdefault(str(path.resolve()), threading.Lock())

    # --- state ---------------------------------------------------------------------------------
    @property
    def generation(self) -> int | None:
        """The Chroma generation the last complete write reflects (None: never built)."""
        try:
            return int(json.loads((self.path / STATE).read_text())["generation"])
        except (OSError, ValueError, KeyError):
            return None

    def set_generation(self, generation: int) -> None:
        """Written whole or not at all. Each writer (a write's end, a search catching up, another
        process) renames its own file into place, so two at once never take each other's."""
        with tempfile.NamedTemporaryFile(
            "w", dir=self.path, prefix=f"{STATE}.", suffix=".tmp", delete=False
        ) as tmp:
            tmp.write(json.dumps({"generation": generation, "format": FORMAT}))
        os.replace(tmp.name, self.path / STATE)

    # --- writes --------------------------------------------------------------------------------
    def replace_articles(self, article_ids: Sequence[str], records: Sequence[ChunkRecord]) -> None:
        """In one commit: these articles' documents go, `records` (their new chunks) come in."""
        with self._writer() as writer:
            for article_id in article_ids:
                writer.delete_documents_by_term("article_id", article_id)
            for document in self._documents(records):
                writer.add_document(document)

    def rebuild(self, read: Callable[[], Sequence[ChunkRecord]], generation: int) -> None:
        """Everything from scratch in one commit; searches read the old index until it lands.
        `read` runs once no other write is in flight."""
        with self._writer() as writer:
            writer.delete_all_documents()
            for document in self._documents(read()):
                writer.add_document(document)
        self.set_generation(generation)

    def _documents(self, records: Sequence[ChunkRecord]) -> Iterator[Any]:
        import tantivy

        texts = [lexical_text(r.meta["title"], r.meta.get("source"), r.text) for r in records]
        for record, words in zip(records, tokens(texts) if texts else [], strict=True):
            meta = record.meta
            fields: dict[str, Any] = {
                "id": record.id,
                "article_id": meta["article_id"],
                "version": f"{meta['content_hash']}:{meta['article_id']}",
                "source": meta.get("source") or "",
                "tokens": " ".join(words),
                "record": json.dumps({"text": record.text, "meta": meta}).encode(),
            }
            if meta.get("published_at") is not None:
                fields["published_at"] = int(meta["published_at"])
            yield tantivy.Document(**fields)

    class _Commit:
        def __init__(self, lexical: LexicalIndex) -> None:
            self.lexical = lexical

        def __enter__(self) -> Any:
            self.lexical._write_lock.acquire()
            try:
                self.writer = self.lexical._open_writer()
            except BaseException:
                self.lexical._write_lock.release()
                raise
            return self.writer

        def __exit__(self, kind: Any, exc: Any, tb: Any) -> None:
            try:
                if kind is None:
                    self.writer.commit()
                    self.writer.wait_merging_threads()
                else:
                    self.writer.rollback()
            finally:
                del self.writer  # releases tantivy's lock for other processes
                self.lexical._write_lock.release()
            if kind is None:
                self.lexical._index.reload()

    def _writer(self) -> LexicalIndex._Commit:
        return LexicalIndex._Commit(self)

    def _open_writer(self) -> Any:
        """tantivy's writer, waiting while another process holds it."""
        deadline = time.monotonic() + WRITER_WAIT_S
        while True:
            try:
                return self._index.writer(heap_size=WRITER_HEAP, num_threads=1)
            except ValueError as exc:
                if "LockBusy" not in str(exc) or time.monotonic() > deadline:
                    raise IndexUnavailable(
                        f"the lexical index at {self.path} cannot be written: {exc}"
                    ) from exc
                time.sleep(0.05)

    # --- reads ---------------------------------------------------------------------------------
    def snapshot(self) -> Snapshot:
        """The last commit, as one consistent view (what one search reads)."""
        self._index.reload()  # another process may have committed since
        return Snapshot(self._schema, self._index.searcher())

    def search(self, text: str, n: int, filters: Filters | None = None) -> list[ChunkRecord]:
        return self.snapshot().search(text, n, filters)

    def records(self, ids: Sequence[str]) -> dict[str, ChunkRecord]:
        return self.snapshot().records(ids)

    def all_records(self) -> list[ChunkRecord]:
        return self.snapshot().all_records()

    def outlets(self) -> list[str]:
        return self.snapshot().outlets()

    def catch_up(
        self,
        stored: dict[str, str],
        chunks_of: Callable[[Sequence[str]], dict[str, list[ChunkRecord]]],
        generation: int,
    ) -> None:
        """Replace the articles whose version held here differs from the store's (`stored`:
        article id -> content hash; `chunks_of`: the store's chunks of some articles), and
        record `generation`, the store's count of writes this is in step with.

        An article whose held version has chunks in the store but no record yet is being
        written by a process sharing this folder: it is left to that write, whose end is
        logged and brings another catch-up."""
        held = self.versions()
        differ = sorted(
            a for a in set(stored) | set(held) if held.get(a, set()) != _version(stored, a)
        )
        chunks = chunks_of(differ)
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
            self.replace_articles(replace_ids, records)
        self.set_generation(generation)

    def versions(self) -> dict[str, set[str]]:
        return self.snapshot().versions()

    def count(self) -> int:
        return self.snapshot().count()


class Snapshot:
    def __init__(self, schema: Any, searcher: Any) -> None:
        self._schema = schema
        self._searcher = searcher

    def count(self) -> int:
        return int(self._searcher.num_docs)

    def search(self, text: str, n: int, filters: Filters | None = None) -> list[ChunkRecord]:
        """The n best chunks by BM25 over the question's terms, within `filters`."""
        import tantivy

        terms = tokens([text])[0]  # a word asked twice weighs twice, as in bm25s
        if not terms:
            return []
        query = tantivy.Query.boolean_query(
            [
                (tantivy.Occur.Should, tantivy.Query.term_query(self._schema, "tokens", t))
                for t in terms
            ]
        )
        restrict = self._filter(filters)
        if restrict:
            query = tantivy.Query.boolean_query(
                [(tantivy.Occur.Must, query)] + [(tantivy.Occur.Must, q) for q in restrict]
            )
        return self._read(self._searcher.search(query, n).hits)

    def _filter(self, filters: Filters | None) -> list[Any]:
        import tantivy

        if not filters:
            return []
        clauses = []
        if filters.sources:
            clauses.append(
                tantivy.Query.term_set_query(self._schema, "source", list(filters.sources))
            )
        if filters.published_after is not None or filters.published_before is not None:
            clauses.append(
                tantivy.Query.range_query(
                    self._schema,
                    "published_at",
                    tantivy.FieldType.Integer,
                    filters.published_after,
                    filters.published_before,
                )
            )
        return clauses

    def records(self, ids: Sequence[str]) -> dict[str, ChunkRecord]:
        """The records of those of `ids` the index holds."""
        import tantivy

        if not ids:
            return {}
        query = tantivy.Query.term_set_query(self._schema, "id", list(ids))
        return {r.id: r for r in self._read(self._searcher.search(query, len(ids)).hits)}

    def all_records(self) -> list[ChunkRecord]:
        import tantivy

        if not self.count():
            return []
        return self._read(self._searcher.search(tantivy.Query.all_query(), self.count()).hits)

    def outlets(self) -> list[str]:
        """Every outlet the index holds chunks from."""
        import tantivy

        if not self.count():
            return []
        got = self._searcher.aggregate(
            tantivy.Query.all_query(), {"outlets": {"terms": {"field": "source", "size": 100_000}}}
        )
        return sorted(b["key"] for b in got["outlets"]["buckets"] if b["key"])

    def versions(self) -> dict[str, set[str]]:
        """The content hashes of each article's chunks held (one, but while a write is in
        flight). Read by aggregation in 16 slices by the hash's first digit, each under
        tantivy's limit of 65,000 buckets."""
        import tantivy

        held: dict[str, set[str]] = {}
        if not self.count():
            return held
        for digit in "0123456789abcdef":
            got = self._searcher.aggregate(
                tantivy.Query.regex_query(self._schema, "version", f"{digit}.*"),
                {"versions": {"terms": {"field": "version", "size": 65_000}}},
            )
            for bucket in got["versions"]["buckets"]:
                content_hash, article_id = bucket["key"].split(":", 1)
                held.setdefault(article_id, set()).add(content_hash)
        return held

    def _read(self, hits: list[Any]) -> list[ChunkRecord]:
        return [_record(self._searcher.doc(address)) for _, address in hits]


def _version(hashes: dict[str, str], article_id: str) -> set[str]:
    return {hashes[article_id]} if article_id in hashes else set()


def _record(doc: Any) -> ChunkRecord:

    stored = json.loads(bytes(doc["record"][0]))
    return ChunkRecord(doc["id"][0], stored["text"], stored["meta"])


def _format(path: Path) -> int | None:
    """The layout of the index in `path` (None: no index there yet)."""
    try:
        return int(json.loads((path / STATE).read_text()).get("format", 1))
    except (OSError, ValueError):
        return None


def drop(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
