"""Request and response models of the HTTP API. Unknown fields are refused (422)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from rag.retrieval.retrieve import MAX_QUESTION_CHARS, MAX_TURN_CHARS
from rag.types import Filters

# Longer than the domain limit on purpose: a question that is merely too long gets the domain
# error QuestionTooLong (413); only absurd bodies stop at validation.
QUESTION_FIELD_MAX = MAX_QUESTION_CHARS * 4
TURN_FIELD_MAX = MAX_TURN_CHARS * 2  # an earlier answer, with its sources
# Over HTTP an index is only ever named (as rag/store/index.py names them), never a folder path as
# the CLI may give: a path would let a client open, create or delete a Chroma folder anywhere.
INDEX_NAME = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$"


def _encodable(text: str) -> str:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("the text holds a lone UTF-16 surrogate (\\ud800-\\udfff)") from None
    return text


# JSON can spell lone surrogates ("\\ud800"), which the tokenizer, Chroma and the content hash
# all fail on. pydantic refuses them in fields with a length limit; `Text` is for the others.
Text = Annotated[str, AfterValidator(_encodable)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FilterIn(Strict):
    sources: list[Text] = Field(default_factory=list, max_length=50)
    published_after: datetime | None = None
    published_before: datetime | None = None

    def to_filters(self) -> Filters:
        return Filters(
            tuple(self.sources), _epoch(self.published_after), _epoch(self.published_before)
        )


def _epoch(value: datetime | None) -> int | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return int(value.timestamp())


class Turn(Strict):
    role: Literal["user", "assistant"]
    content: str = Field(max_length=TURN_FIELD_MAX)


class SearchIn(Strict):
    question: str = Field(max_length=QUESTION_FIELD_MAX)
    k: int = Field(10, ge=1, le=100)
    index: str | None = Field(None, pattern=INDEX_NAME)
    filters: FilterIn = Field(default_factory=FilterIn)


class AskIn(Strict):
    question: str = Field(max_length=QUESTION_FIELD_MAX)
    history: list[Turn] = Field(default_factory=list, max_length=20)
    index: str | None = Field(None, pattern=INDEX_NAME)
    filters: FilterIn = Field(default_factory=FilterIn)
    backend: str | None = Field(None, max_length=40, description="llamacpp, openai, extractive")
    now: datetime | None = Field(
        None,
        description="The time 'yesterday' or 'this week' is read against (default: the clock); "
        "without a zone, UTC.",
    )

    def now_utc(self) -> datetime | None:
        if self.now is None:
            return None
        return self.now if self.now.tzinfo is not None else self.now.replace(tzinfo=UTC)


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
    updated_at: str | None = None
    score: float
    dense_similarity: float | None
    sentences: list[SentenceOut]


class SearchOut(BaseModel):
    hits: list[HitOut]


class CitationOut(BaseModel):
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
    updated_at: str | None = None


class AnswerSentenceOut(BaseModel):
    text: str
    citations: list[int]
    supported: bool


class PartOut(BaseModel):
    source: str | None  # the outlet(s) the part names
    asks: str  # what the question asks of it
    finding: str | None  # what its evidence says, attributed ("The Verge (2023-11-07): ...")
    citations: list[int]
    status: str  # supported, not supported, contradicted, not cited, missing
    score: float | None = None  # the support model's score of its sentence (rag.answering.support)


class WindowOut(BaseModel):
    """The publication window a relative time in the question named."""

    phrase: str
    after: datetime | None
    before: datetime | None
    latest: bool
    text: str


class ConflictOut(BaseModel):
    """Reports that differ on what the answer cites: each side's citation, and why."""

    reason: str  # "values" (they give different figures, names or times) or "negation"
    citations: list[int]


class AnswerOut(BaseModel):
    question: str
    standalone_question: str
    text: str
    sentences: list[AnswerSentenceOut]
    citations: list[CitationOut]
    abstained: bool
    related: list[CitationOut]
    timings: dict[str, float]
    model: str
    backend: str
    parts: list[PartOut] = []
    window: WindowOut | None = None
    conflicts: list[ConflictOut] = []
    mode: str = ""  # "short", "choice", "picked", "claims" or "parts": how it was made
    reply_probability: float | None = None  # a short answer: the model's probability of it
    confidence: float | None = None  # ... and the calibrated probability that it is right


class ArticleIn(Strict):
    id: str | None = Field(None, max_length=128)
    title: str = Field(max_length=1000)
    body: Text
    source: str | None = Field(None, max_length=500)
    url: str | None = Field(None, max_length=4000)
    published_at: str | int | None = None
    author: str | None = Field(None, max_length=500)
    category: str | None = Field(None, max_length=200)


class ArticlesIn(Strict):
    articles: list[ArticleIn] = Field(min_length=1, max_length=1000)
    index: str | None = Field(None, pattern=INDEX_NAME)


class IngestOut(BaseModel):
    added: int
    updated: int
    unchanged: int
    chunks_written: int
    chunks_embedded: int
    chunks_reused: int
    stale_deleted: int
    seconds: float
    article_ids: list[str]


class ArticleSummary(BaseModel):
    id: str
    title: str
    source: str | None
    url: str | None
    published_at: str | None
    author: str | None
    category: str | None
    updated_at: str | None = None  # when a changed version replaced an earlier one


class ArticleList(BaseModel):
    articles: list[ArticleSummary]
    limit: int
    offset: int


class FlagOut(BaseModel):
    kind: str  # "directive": text that tells its reader what to do or say
    sentence_ids: list[str]
    headline: bool
    # What answers leave out: "sentence", the listed sentences; "article", the whole article.
    scope: Literal["article", "sentence"] = "article"
    reason: str


class ArticleOut(ArticleSummary):
    body: str
    sentences: list[SentenceOut]
    # What ingest found in the article; answers take no evidence from what a flag keeps out.
    # None: indexed without reading its sentences (an embedder that cannot read in context).
    flags: list[FlagOut] | None = None


class ErrorOut(BaseModel):
    error: str
    message: str


class FeedIn(Strict):
    url: str = Field(min_length=1, max_length=2000)
    index: str | None = Field(None, pattern=INDEX_NAME)
    interval_s: float | None = Field(
        None, ge=1, le=7 * 86400, description="Poll every this many seconds (default: the setting)."
    )


class FeedOut(BaseModel):
    url: str
    index: str
    title: str | None
    status: str  # new, ok, error
    last_fetch: str | None
    last_error: str | None  # "ErrorName: message"
    items_seen: int
    added: str
    interval_s: float | None = None


class PageIn(Strict):
    url: str = Field(min_length=1, max_length=2000)
    index: str | None = Field(None, pattern=INDEX_NAME)
    source: str | None = Field(
        None, max_length=200, description="The outlet, if the page does not name it."
    )
