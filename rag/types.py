"""The data that flows through Newsdesk: articles, sentences, chunks and search hits.

Offsets are character offsets into `Article.body` (Python str indices, end exclusive), so
`article.body[s.char_start:s.char_end] == s.text` holds for every sentence.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any


@dataclass(frozen=True)
class Article:
    id: str
    title: str
    body: str
    source: str | None = None
    url: str | None = None
    published_at: int | None = None  # epoch seconds, UTC
    author: str | None = None
    category: str | None = None
    updated_at: int | None = None  # when a changed version replaced an earlier one

    @property
    def content_hash(self) -> str:
        """Changes whenever anything stored about the article changes, but the time of the
        change itself."""
        fields = asdict(self)
        del fields["updated_at"]
        payload = json.dumps(fields, sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(payload.encode()).hexdigest()[:16]

    def meta(self) -> dict[str, str | int]:
        """Everything but the body, without empty fields (Chroma metadata takes no None)."""
        fields = asdict(self)
        del fields["body"]
        return {k: v for k, v in fields.items() if v is not None}


def iso_date(epoch: int | None) -> str | None:
    if epoch is None:
        return None
    return datetime.fromtimestamp(epoch, UTC).isoformat().replace("+00:00", "Z")


@dataclass(frozen=True)
class Sentence:
    id: str  # "<article_id>#<index>"
    index: int
    text: str
    char_start: int
    char_end: int


def sentence_id(article_id: str, index: int) -> str:
    return f"{article_id}#{index}"


# The layout of the chunks an index holds: bumped whenever chunking (`rag.ingestion.chunking`)
# can cut the same input differently; an index records it and refuses another.
CHUNKER_VERSION = 1


def embed_text(title: str, text: str) -> str:
    """What the embedder sees for a chunk: the headline gives the passage its topic."""
    return f"{title}\n{text}"


@dataclass(frozen=True)
class Chunk:
    id: str
    article_id: str
    sentences: tuple[Sentence, ...]
    token_count: int

    @property
    def char_start(self) -> int:
        return self.sentences[0].char_start

    @property
    def char_end(self) -> int:
        return self.sentences[-1].char_end


@dataclass
class Hit:
    """One retrieved chunk: its article, score and the sentences it holds."""

    chunk_id: str
    article_id: str
    title: str
    source: str | None
    url: str | None
    published_at: int | None
    score: float  # fused reciprocal-rank score; higher is better
    dense_similarity: float | None  # cosine similarity of the query to the chunk, if dense found it
    sentences: list[Sentence] = field(default_factory=list)
    updated_at: int | None = None  # when a correction replaced the first version

    def to_json(self) -> dict:
        return {
            "article_id": self.article_id,
            "chunk_id": self.chunk_id,
            "title": self.title,
            "source": self.source,
            "url": self.url,
            "published_at": iso_date(self.published_at),
            "updated_at": iso_date(self.updated_at),
            "score": round(self.score, 6),
            "dense_similarity": None
            if self.dense_similarity is None
            else round(self.dense_similarity, 6),
            "sentences": [
                {
                    "sentence_id": s.id,
                    "text": s.text,
                    "char_start": s.char_start,
                    "char_end": s.char_end,
                }
                for s in self.sentences
            ],
        }


@dataclass(frozen=True)
class Filters:
    """Restrict a search to some outlets and a publication window (epoch seconds, inclusive)."""

    sources: tuple[str, ...] = ()
    published_after: int | None = None
    published_before: int | None = None

    def __bool__(self) -> bool:
        return (
            bool(self.sources)
            or self.published_after is not None
            or (self.published_before is not None)
        )

    def admits(self, meta: dict) -> bool:
        """The same test Chroma's `where` applies, for candidates found outside Chroma."""
        if self.sources and meta.get("source") not in self.sources:
            return False
        published = meta.get("published_at")
        if self.published_after is not None and (
            published is None or published < self.published_after
        ):
            return False
        return self.published_before is None or (
            published is not None and published <= self.published_before
        )


@dataclass
class ChunkRecord:
    """One chunk as the index stores it: its text and metadata (article, offsets, spans)."""

    id: str
    text: str
    meta: dict[str, Any]
    similarity: float | None = None  # cosine similarity to the query, for dense results
    vector: list[float] | None = None  # its embedding, where asked for (`Index.all_chunks`)

    @property
    def spans(self) -> list[tuple[int, int]]:
        """Body offsets of the chunk's sentences."""
        return [tuple(pair) for pair in json.loads(self.meta["spans"])]  # type: ignore[misc]
