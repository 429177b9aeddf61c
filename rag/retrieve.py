"""Hybrid retrieval: dense search in Chroma fused with BM25 by reciprocal rank fusion.

Dense search finds paraphrases; BM25 finds the names, numbers and outlet names that a small
embedding model blurs. The BM25 index is built in memory from the chunks in the index (their
outlet, headline and text) and rebuilt when the index's generation changes.

A rebuild reads and tokenises every chunk (seconds at 100k chunks), so after a write it runs in
a background thread while searches go on with the previous BM25 index. That one is only ever
missing what was written since (dense search finds new chunks and reads them by id) or holding
what was deleted since; its hits are checked against the index until the rebuild lands. Chunk
ids carry their article's content hash, so a record under a given id never changes.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import numpy as np

from rag.config import Settings
from rag.embedding import Embedder
from rag.errors import EmptyQuestion, InvalidQuestion, QuestionTooLong
from rag.index import ChunkRecord, Index
from rag.types import Filters, Hit, Sentence, sentence_id

MAX_QUESTION_CHARS = 2000


def check_question(question: str) -> str:
    text = question.strip() if isinstance(question, str) else ""
    if not text:
        raise EmptyQuestion("the question is empty")
    if len(text) > MAX_QUESTION_CHARS:
        raise QuestionTooLong(
            f"the question has {len(text):,} characters; the limit is {MAX_QUESTION_CHARS:,}"
        )
    return text


def lexical_text(record: ChunkRecord) -> str:
    meta = record.meta
    return f"{meta.get('source', '')} {meta['title']} {record.text}"


@dataclass
class _Lexical:
    key: int
    records: list[ChunkRecord]
    by_id: dict[str, ChunkRecord]
    bm25: object
    stemmer: object
    outlets: list[str] | None = None  # computed on first use


class Retriever:
    """Holds the query-side state of one index: the embedder and the BM25 cache."""

    def __init__(self, index: Index, embedder: Embedder, settings: Settings) -> None:
        self.index = index
        self.embedder = embedder
        self.settings = settings
        self._lexical: _Lexical | None = None
        self._rebuild: threading.Thread | None = None
        self._lock = threading.Lock()

    def search(
        self, question: str, k: int | None = None, filters: Filters | None = None
    ) -> list[Hit]:
        text = check_question(question)
        k = self.settings.retrieve_k if k is None else k
        if not 1 <= k <= 100:
            raise InvalidQuestion(f"k must be between 1 and 100, not {k}")
        n = max(self.settings.candidates, k)
        lexical_index, stale = self._lexical_index()
        # The chunks' text and metadata are in memory with the lexical index: Chroma only ranks.
        known = lexical_index.by_id if lexical_index is not None else None
        dense = self.index.dense_search(self.embedder.embed_query(text), n, filters, known)
        lexical = self._bm25(lexical_index, text, n, filters)
        if stale and lexical:
            live = self.index.existing_chunk_ids([r.id for r in lexical])
            lexical = [r for r in lexical if r.id in live]  # deleted since the last build
        fused: dict[str, float] = {}
        records: dict[str, ChunkRecord] = {}
        for ranking in (dense, lexical):
            for rank, record in enumerate(ranking):
                fused[record.id] = fused.get(record.id, 0.0) + 1.0 / (
                    self.settings.rrf_k + rank + 1
                )
                # Keep the dense record: it carries the similarity.
                records.setdefault(record.id, record)
        best = sorted(fused, key=lambda cid: (-fused[cid], cid))[:k]
        return [_hit(records[cid], fused[cid]) for cid in best]

    def outlets(self) -> list[str]:
        """Every outlet the index holds articles from, read from the lexical index in memory."""
        lexical, _ = self._lexical_index()
        if lexical is None:
            return []
        if lexical.outlets is None:
            lexical.outlets = sorted(
                {r.meta["source"] for r in lexical.records if r.meta.get("source")}
            )
        return lexical.outlets

    def warm(self) -> None:
        """Build the lexical index now (a service does it before its first request)."""
        self._lexical_index()

    def wait_fresh(self, timeout: float = 600.0) -> None:
        """Wait until the lexical index holds the last write (before measuring, in tests)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            _, stale = self._lexical_index()  # starts a rebuild if one is due
            if not stale:
                return
            with self._lock:
                rebuild = self._rebuild
            if rebuild is not None:
                rebuild.join(max(0.0, deadline - time.monotonic()))

    def _bm25(
        self, lexical: _Lexical | None, text: str, n: int, filters: Filters | None
    ) -> list[ChunkRecord]:
        if lexical is None:
            return []
        import bm25s

        tokens = bm25s.tokenize(
            [text], stopwords="en", stemmer=lexical.stemmer, return_ids=False, show_progress=False
        )[0]
        known = [t for t in tokens if t in lexical.bm25.vocab_dict]  # type: ignore[attr-defined]
        if not known:
            return []
        scores = lexical.bm25.get_scores(known)  # type: ignore[attr-defined]
        if filters:
            mask = np.array([filters.admits(r.meta) for r in lexical.records])
            scores = np.where(mask, scores, 0.0)
        n = min(n, len(scores))
        top = np.argpartition(-scores, n - 1)[:n]  # the n best, then sort only those
        top = top[np.lexsort((top, -scores[top]))]
        return [lexical.records[i] for i in top if scores[i] > 0]

    def _lexical_index(self) -> tuple[_Lexical | None, bool]:
        """The BM25 index to search, and whether it predates the index's last write."""
        key = self.index.generation
        with self._lock:
            current = self._lexical
            if current is not None and current.key == key:
                return (current if current.records else None), False
            if current is None:
                # Nothing to serve yet: the first search builds it.
                self._lexical = current = _build_lexical(self.index, key)
                return (current if current.records else None), False
            if self._rebuild is None:
                self._rebuild = threading.Thread(
                    target=self._rebuild_lexical, args=(key,), name="bm25-rebuild", daemon=True
                )
                self._rebuild.start()
            return (current if current.records else None), True

    def _rebuild_lexical(self, key: int) -> None:
        try:
            fresh = _build_lexical(self.index, key)
        except Exception:  # the index went away or is unreachable: the next search retries
            fresh = None
        with self._lock:
            if fresh is not None and (self._lexical is None or fresh.key > self._lexical.key):
                self._lexical = fresh
            self._rebuild = None


def _build_lexical(index: Index, key: int) -> _Lexical:
    import bm25s
    import Stemmer

    stemmer = Stemmer.Stemmer("english")
    records = index.all_chunks()
    bm25 = bm25s.BM25()
    if records:
        corpus = bm25s.tokenize(
            [lexical_text(r) for r in records], stopwords="en", stemmer=stemmer, show_progress=False
        )
        bm25.index(corpus, show_progress=False)
    return _Lexical(key, records, {r.id: r for r in records}, bm25, stemmer)


def _hit(record: ChunkRecord, score: float) -> Hit:
    meta = record.meta
    start = meta["char_start"]
    first = meta["first_sentence"]
    sentences = [
        Sentence(
            sentence_id(meta["article_id"], first + i),
            first + i,
            record.text[s - start : e - start],
            s,
            e,
        )
        for i, (s, e) in enumerate(record.spans)
    ]
    return Hit(
        chunk_id=record.id,
        article_id=meta["article_id"],
        title=meta["title"],
        source=meta.get("source"),
        url=meta.get("url"),
        published_at=meta.get("published_at"),
        score=score,
        dense_similarity=record.similarity,
        sentences=sentences,
    )
