"""Idempotent, incremental, crash-safe ingest of articles into an index.

For each article whose content hash differs from the one the index holds:
  1. its chunks are written under ids that carry the new hash (`<id>@<hash>:<n>`);
  2. they are published to the lexical index, replacing the older version's there, in one
     commit (from here searches find the new version and no longer the old one);
  3. chunks of older versions of that article are deleted;
  4. the article record, with the new hash, is written last.
The embedder's pass over each chunk also reads its sentences in context for directives
(`rag.ingestion.directives`); each chunk keeps what was found in it, and the article record carries
the article's `flags`, so an answer needs no reading of its own.
An unchanged article costs one look-up. A run killed anywhere leaves either the old article
record (so the next run redoes steps 1-4, skipping chunks already written) or the new one
(so there is nothing left to do): no duplicates, no orphans once the same input is ingested again.
Nothing is embedded twice: chunks already in the index are skipped, texts repeated within a run
are embedded once, and a changed article reuses the vectors of its unchanged chunks.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from rag.config import Settings
from rag.ingestion.chunking import chunk_sentences
from rag.ingestion.directives import Found, chunk_spans, find_directives, flag_entry
from rag.ingestion.sentences import split_sentences
from rag.store.embedding import Embedder
from rag.store.index import Index
from rag.types import Article, Chunk, ChunkRecord, embed_text

Progress = Callable[[int, int], None]  # (chunks done, chunks in all)


@dataclass
class IngestReport:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    chunks_written: int = 0
    chunks_embedded: int = 0
    chunks_reused: int = 0
    stale_deleted: int = 0
    seconds: float = 0.0
    article_ids: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "article_ids"}


@dataclass
class _Planned:
    article: Article
    spans: list[tuple[int, int]]
    chunks: list[Chunk]
    is_new: bool
    # chunk id -> the directives read in it; None where the embedder cannot read sentences in
    # context
    found: dict[str, Found | None] = field(default_factory=dict)

    def meta(self, chunk: Chunk) -> dict[str, Any]:
        found = self.found.get(chunk.id)
        meta = chunk_meta(self.article, chunk)
        return meta if found is None else meta | {"directives": found.to_json()}

    def flags(self) -> str | None:
        """The article's `flags` entry as stored (JSON), or None if it was not read."""
        if any(self.found.get(c.id) is None for c in self.chunks):
            return None
        read = [(c, f) for c in self.chunks if (f := self.found[c.id]) is not None]
        ids = sorted(
            {c.sentences[i - 1].id for c, f in read for i in f.positions if i},
            key=lambda sid: int(sid.rsplit("#", 1)[1]),
        )
        headline = any(0 in f.positions for _, f in read)
        article = any(f.article for _, f in read)
        return json.dumps(flag_entry(ids, headline, article))


def plan_chunks(
    articles: Sequence[Article], embedder: Embedder, settings: Settings
) -> list[tuple[Article, list[tuple[int, int]], list[Chunk]]]:
    """Sentences and chunks of each article, counting tokens in one batch for all."""
    split = [split_sentences(a.id, a.body) for a in articles]
    flat = [s.text for sentences in split for s in sentences]
    counts = iter(embedder.count_tokens(flat + [a.title for a in articles]))
    per_sentence = [[next(counts) for _ in sentences] for sentences in split]
    planned = []
    for article, sentences, tokens in zip(articles, split, per_sentence, strict=True):
        title_tokens = next(counts) + 1
        chunks = chunk_sentences(
            f"{article.id}@{article.content_hash}",
            article.id,
            sentences,
            tokens,
            max_tokens=settings.chunk_max_tokens,
            overlap=settings.chunk_overlap_sentences,
            prefix_tokens=title_tokens,
        )
        planned.append((article, [(s.char_start, s.char_end) for s in sentences], chunks))
    return planned


def chunk_meta(article: Article, chunk: Chunk) -> dict[str, Any]:
    return article.meta() | {
        "article_id": article.id,
        "content_hash": article.content_hash,
        "char_start": chunk.char_start,
        "char_end": chunk.char_end,
        "first_sentence": chunk.sentences[0].index,
        "spans": json.dumps([[s.char_start, s.char_end] for s in chunk.sentences]),
    }


def ingest(
    articles: Sequence[Article],
    index: Index,
    embedder: Embedder,
    settings: Settings,
    progress: Progress | None = None,
) -> IngestReport:
    started = time.perf_counter()
    index.check_chunk_settings(settings)
    report = IngestReport(article_ids=[a.id for a in articles])
    stored = index.article_meta([a.id for a in articles]) if articles else {}
    known = {i: m["content_hash"] for i, m in stored.items()}
    # A new version of a stored article keeps its first publication date when it names none,
    # and records when it replaced the old one.
    articles = [
        replace(a, published_at=stored[a.id].get("published_at")) if (
            a.id in stored and a.published_at is None
        ) else a
        for a in articles
    ]  # fmt: skip
    now = int(time.time())
    todo = [
        replace(a, updated_at=a.updated_at or now) if a.id in known else a
        for a in articles
        if known.get(a.id) != a.content_hash
    ]
    report.unchanged = len(articles) - len(todo)
    plans = [
        _Planned(article, spans, chunks, article.id not in known)
        for article, spans, chunks in plan_chunks(todo, embedder, settings)
    ]
    total = sum(len(p.chunks) for p in plans)
    if progress:
        progress(0, total)

    if plans:
        with index.writing():
            _write_all(plans, index, embedder, settings, report, total, progress)
    report.added = sum(plan.is_new for plan in plans)
    report.updated = len(plans) - report.added
    report.seconds = time.perf_counter() - started
    return report


def _write_all(
    plans: list[_Planned],
    index: Index,
    embedder: Embedder,
    settings: Settings,
    report: IngestReport,
    total: int,
    progress: Progress | None,
) -> None:
    done = 0
    pending: list[tuple[_Planned, Chunk]] = []
    for plan in plans:
        pending += [(plan, chunk) for chunk in plan.chunks]
        if len(pending) >= settings.write_batch:
            done = _write(pending, index, embedder, report, done, total, progress)
            pending = []
        # An article is finished only once all its chunks are written (possibly in this call).
    done = _write(pending, index, embedder, report, done, total, progress)
    for start in range(0, len(plans), settings.write_batch):
        batch = plans[start : start + settings.write_batch]
        keep = [c.id for plan in batch for c in plan.chunks]
        # Searchable first (their old versions go in the same commit), then the record.
        index.publish_chunks(
            [plan.article.id for plan in batch],
            [
                ChunkRecord(c.id, plan.article.body[c.char_start : c.char_end], plan.meta(c))
                for plan in batch
                for c in plan.chunks
            ],
        )
        report.stale_deleted += index.delete_stale_chunks([p.article.id for p in batch], keep)
        index.put_articles([(plan.article, plan.spans, plan.flags()) for plan in batch])


def _write(
    batch: list[tuple[_Planned, Chunk]],
    index: Index,
    embedder: Embedder,
    report: IngestReport,
    done: int,
    total: int,
    progress: Progress | None,
) -> int:
    if not batch:
        return done
    existing = index.existing_chunk_ids([c.id for _, c in batch])
    if existing:  # written by a run that stopped before its article record: read back
        stored = index.chunks_by_id(sorted(existing))
        for plan, chunk in batch:
            if chunk.id in stored:
                plan.found[chunk.id] = Found.from_json(stored[chunk.id].meta.get("directives"))
    todo = [(p, c) for p, c in batch if c.id not in existing]
    texts = [p.article.body[c.char_start : c.char_end] for p, c in todo]
    inputs = [embed_text(p.article.title, t) for (p, _), t in zip(todo, texts, strict=True)]
    reuse = {
        text: (vector, Found.from_json(stored))
        for text, (vector, stored) in index.vectors_for_texts(
            {p.article.id for p, _ in todo if not p.is_new}, set(inputs)
        ).items()
    }
    unique = sorted(set(inputs) - reuse.keys())
    layout = {i: (p.article.title, c) for (p, c), i in zip(todo, inputs, strict=True)}
    read = _embed(embedder, unique, layout) | reuse
    report.chunks_embedded += len(unique)
    report.chunks_reused += len(set(inputs) & reuse.keys())
    for (plan, chunk), text in zip(todo, inputs, strict=True):
        plan.found[chunk.id] = read[text][1]
    metas = [plan.meta(chunk) for plan, chunk in todo]
    if todo:
        index.upsert_chunks(
            [c.id for _, c in todo], [read[text][0] for text in inputs], texts, metas
        )
    report.chunks_written += len(todo)
    done += len(batch)
    if progress:
        progress(done, total)
    return done


def _embed(
    embedder: Embedder, inputs: Sequence[str], layout: dict[str, tuple[str, Chunk]]
) -> dict[str, tuple[list[float], Found | None]]:
    """Each input's vector and, where the embedder reads spans, the directives among its
    headline and sentences, read in context in the same pass."""
    if not inputs:
        return {}
    if not hasattr(embedder, "embed_spans"):
        return {t: (v, None) for t, v in zip(inputs, embedder.embed(inputs), strict=True)}
    spans, sentences = [], []
    for text in inputs:
        title, chunk = layout[text]
        spans.append(chunk_spans(title, chunk.sentences, chunk.char_start))
        sentences.append([title] + [s.text for s in chunk.sentences])
    vectors, read = embedder.embed_spans(inputs, spans)
    flat = [t for texts in sentences for t in texts]
    owner = [(n, i) for n, texts in enumerate(sentences) for i in range(len(texts))]
    found: list[list[int]] = [[] for _ in inputs]
    article: list[list[int]] = [[] for _ in inputs]
    directives, article_wide = find_directives(flat, np.concatenate(read), embedder)
    sure = set(article_wide)
    for k in directives:
        n, i = owner[k]
        found[n].append(i)
        if k in sure:
            article[n].append(i)
    return {
        t: (v, Found(tuple(f), tuple(a)))
        for t, v, f, a in zip(inputs, vectors, found, article, strict=True)
    }
