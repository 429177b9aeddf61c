"""Request and response models of the HTTP API."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from rag.retrieve import MAX_QUESTION_CHARS
from rag.types import Filters


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FilterIn(Strict):
    sources: list[str] = Field(default_factory=list, max_length=50)
    published_after: datetime | None = None
    published_before: datetime | None = None

    def to_filters(self) -> Filters:
        return Filters(
            tuple(self.sources),
            _epoch(self.published_after),
            _epoch(self.published_before),
        )


def _epoch(value: datetime | None) -> int | None:
    if value is None:
        return None
    if value.tzinfo is None:
        from datetime import UTC

        value = value.replace(tzinfo=UTC)
    return int(value.timestamp())


class SearchIn(Strict):
    question: str = Field(max_length=MAX_QUESTION_CHARS * 2)
    k: int = Field(10, ge=1, le=100)
    index: str | None = Field(None, max_length=200)
    filters: FilterIn = Field(default_factory=FilterIn)


class SentenceOut(BaseModel):
    sentence_id: str
    text: str
    char_start: int
    char_end: int


class HitOut(BaseModel):
    article_id: str
    chunk_id: str
    title: str
    source: str | None
    url: str | None
    published_at: str | None
    score: float
    dense_similarity: float | None
    sentences: list[SentenceOut]


class SearchOut(BaseModel):
    hits: list[HitOut]
