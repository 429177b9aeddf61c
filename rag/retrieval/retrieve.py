"""Hybrid retrieval: dense search in Chroma fused with BM25 by reciprocal rank fusion.

Dense search finds paraphrases; BM25 (rag/store/lexical.py) finds the names, numbers and outlet
names that a small embedding model blurs. Both read only complete articles: the lexical index
holds the chunks of those, and dense hits are read from it by id.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from rag.config import Settings
from rag.errors import EmptyQuestion, InvalidQuestion, QuestionTooLong, UnknownArticle
from rag.ingestion.directives import Found, flag_entry, keeps_out, read_article
from rag.store.embedding import Embedder
from rag.store.index import Index
from rag.types import ChunkRecord, Filters, Hit, Sentence, sentence_id

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


MAX_TURN_CHARS = 20_000  # one earlier turn: a question, or an answer with its sources


def check_history(history: Sequence[dict[str, str]]) -> None:
    """An earlier turn is read with the question (a follow-up is rewritten or joined to it),
    so each is bounded before anything parses it: a user turn as a question is, an answer
    at MAX_TURN_CHARS."""
    for n, turn in enumerate(history, start=1):
        content = turn.get("content") or ""
        limit = MAX_QUESTION_CHARS if turn.get("role") == "user" else MAX_TURN_CHARS
        if len(content) > limit:
            raise QuestionTooLong(
                f"turn {n} of the history ({turn.get('role')}) has {len(content):,} characters; "
                f"the limit is {limit:,}"
            )


class Retriever:
    """Holds the query side of one index: the embedder and the index's two halves."""

    def __init__(self, index: Index, embedder: Embedder, settings: Settings) -> None:
        self.index = index
        self.embedder = embedder
        self.settings = settings

    def search(
        self, question: str, k: int | None = None, filters: Filters | None = None
    ) -> list[Hit]:
        text = check_question(question)
        k = self.settings.retrieve_k if k is None else k
        if not 1 <= k <= 100:
            raise InvalidQuestion(f"k must be between 1 and 100, not {k}")
        n = max(self.settings.candidates, k)
        snapshot = self.index.lexical.snapshot()  # both halves read the same commit
        dense = self.index.dense_search(self.embedder.embed_query(text), n, filters, snapshot)
        lexical = snapshot.search(text, n, filters)
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
        return [hit_of(records[cid], fused[cid]) for cid in best]

    def outlets(self) -> list[str]:
        """Every outlet the index holds articles from."""
        return self.index.lexical.outlets()

    def warm(self) -> None:
        """Open the lexical index now, rebuilding it if it lags (a service does it at start)."""
        self.index.lexical.outlets()

    def without_instructions(self, hits: Sequence[Hit]) -> list[Hit]:
        """The hits without the sentences ingest flagged for telling their reader what to do or
        say rather than reporting (`rag.ingestion.directives`): none of them is evidence, and none
        is cited. Where one was sure enough, the rest of the article was written by the same
        hand, and its hits are left out whole; a flagged headline is left out of its article's
        hits (their `title` empty). An article indexed without its flags, by an older ingest, is
        read for them now."""
        ids = sorted({h.article_id for h in hits})
        flags = self.index.flags(ids)
        unread = [i for i in ids if flags.get(i) is None]
        if unread and hasattr(self.embedder, "embed_spans"):
            for article_id in unread:
                try:
                    article, spans = self.index.get_article(article_id)
                except UnknownArticle:
                    # A write in flight: its chunks are searchable just before its record is
                    # written, and each chunk carries what ingest read in it.
                    flags[article_id] = self._read_in_chunks(hits, article_id)
                    continue
                sentences = [
                    Sentence(sentence_id(article_id, n), n, article.body[a:b], a, b)
                    for n, (a, b) in enumerate(spans)
                ]
                found = read_article(self.embedder, article.title, sentences, article.body)
                entry = flag_entry(
                    [sentences[i - 1].id for i in found.positions if i],
                    0 in found.positions,
                    bool(found.article),
                )
                flags[article_id] = [entry] if entry else []
        kept = []
        for hit in hits:
            out = keeps_out(flags.get(hit.article_id))
            if out.whole:
                continue
            if out.sentence_ids:
                hit = replace(
                    hit, sentences=[s for s in hit.sentences if s.id not in out.sentence_ids]
                )
            if out.headline:
                hit = replace(hit, title="")
            kept.append(hit)
        return kept

    def _read_in_chunks(self, hits: Sequence[Hit], article_id: str) -> list[dict[str, Any]]:
        """What ingest read in the chunks of an article whose record is not written yet."""
        chunks = self.index.chunks_by_id([h.chunk_id for h in hits if h.article_id == article_id])
        ids, headline, article = set(), False, False
        for chunk in chunks.values():
            found = Found.from_json(chunk.meta.get("directives"))
            if found is None:
                continue
            first = chunk.meta["first_sentence"]
            ids |= {sentence_id(article_id, first + i - 1) for i in found.positions if i}
            headline = headline or 0 in found.positions
            article = article or bool(found.article)
        entry = flag_entry(sorted(ids), headline, article)
        return [entry] if entry else []


def hit_of(record: ChunkRecord, score: float) -> Hit:
    """A stored chunk as a search hit: its sentences with their ids and offsets, and `score`."""
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
        updated_at=meta.get("updated_at"),
    )
