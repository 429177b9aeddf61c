"""What an answer is made of: the sentences it shows, each with the numbers of the source
sentences it cites, and the citations themselves (article, sentence, character offsets)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from rag.answering.context import ContextSentence
from rag.types import iso_date


@dataclass
class Citation:
    n: int
    article_id: str
    title: str
    source: str | None
    url: str | None
    published_at: str | None
    sentence_id: str
    text: str
    char_start: int
    char_end: int
    updated_at: str | None = None  # a corrected article: when the correction came

    @classmethod
    def of(cls, n: int, item: ContextSentence) -> Citation:
        s = item.sentence
        return cls(
            n,
            item.article_id,
            item.title,
            item.source,
            item.url,
            iso_date(item.published_at),
            s.id,
            s.text,
            s.char_start,
            s.char_end,
            iso_date(item.updated_at),
        )


@dataclass
class AnswerSentence:
    text: str
    citations: list[int]  # numbers into Answer.citations
    supported: bool


@dataclass
class Answer:
    question: str
    standalone_question: str
    text: str  # supported sentences with [n] markers, or the abstention
    sentences: list[AnswerSentence]  # every claim the model made, supported or not
    citations: list[Citation]
    abstained: bool
    related: list[Citation] = field(default_factory=list)  # closest sentences, on abstention
    timings: dict[str, float] = field(default_factory=dict)
    model: str = ""
    backend: str = ""
    # The question's parts: {source, asks, finding, citations, status} each (`rag.answering.parts`)
    parts: list[dict[str, Any]] = field(default_factory=list)
    # The publication window a relative time in the question named (rag.reading.recency), if any.
    window: dict[str, Any] | None = None
    # Reports that differ on what the answer cites (rag.answering.conflicts): {reason, citations}
    # each.
    conflicts: list[dict[str, Any]] = field(default_factory=list)
    # How the answer was made: "short" (a name, time or number, located), "claims" (written
    # claims, each checked), "parts" (a verdict composed from what each outlet says).
    mode: str = ""
    # A short answer: the model's probability of its reply, where the backend reports token
    # probabilities, and the probability that the answer is right, calibrated from it on the
    # MultiHop-RAG dev split (rag.answering.confidence). None where the backend reports none.
    reply_probability: float | None = None
    confidence: float | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)
