"""Articles: list, read one with its sentences (for highlighting), ingest, delete."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import DeskDep, WriteKey
from api.schemas import (
    INDEX_NAME,
    ArticleList,
    ArticleOut,
    ArticlesIn,
    ArticleSummary,
    FilterIn,
    FlagOut,
    IngestOut,
    SentenceOut,
)
from rag.errors import DuplicateArticleId
from rag.ingestion.articles import make_article
from rag.types import Article, iso_date, sentence_id

router = APIRouter(prefix="/v1", tags=["articles"])
IndexName = Annotated[str | None, Query(pattern=INDEX_NAME)]


def _summary(article: Article) -> ArticleSummary:
    return ArticleSummary(
        id=article.id,
        title=article.title,
        source=article.source,
        url=article.url,
        published_at=iso_date(article.published_at),
        author=article.author,
        category=article.category,
        updated_at=iso_date(article.updated_at),
    )


@router.get("/articles", response_model=ArticleList)
def list_articles(
    desk: DeskDep,
    index: IndexName = None,
    source: Annotated[list[str], Query(max_length=50)] = [],  # noqa: B006 (FastAPI copies it)
    published_after: datetime | None = None,
    published_before: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> ArticleList:
    filters = FilterIn(
        sources=source, published_after=published_after, published_before=published_before
    ).to_filters()
    found = desk.index(index).list_articles(filters, limit, offset)
    return ArticleList(articles=[_summary(a) for a in found], limit=limit, offset=offset)


@router.get("/articles/{article_id}", response_model=ArticleOut)
def get_article(article_id: str, desk: DeskDep, index: IndexName = None) -> ArticleOut:
    store = desk.index(index)
    article, spans = store.get_article(article_id)
    sentences = [
        SentenceOut(
            sentence_id=sentence_id(article.id, i),
            text=article.body[s:e],
            char_start=s,
            char_end=e,
        )
        for i, (s, e) in enumerate(spans)
    ]
    flags = store.flags([article.id]).get(article.id)
    return ArticleOut(
        **_summary(article).model_dump(),
        body=article.body,
        sentences=sentences,
        flags=None if flags is None else [FlagOut(**f) for f in flags],
    )


@router.post("/articles", response_model=IngestOut, dependencies=[WriteKey])
def add_articles(body: ArticlesIn, desk: DeskDep) -> IngestOut:
    """Add or update articles; the whole batch is validated before anything is written."""
    limit = desk.settings.max_article_chars
    articles = [
        make_article(a.model_dump(), f"articles[{i}]", limit) for i, a in enumerate(body.articles)
    ]
    seen: set[str] = set()
    for article in articles:
        if article.id in seen:
            raise DuplicateArticleId(f"article id {article.id!r} appears twice in this batch")
        seen.add(article.id)
    report = desk.ingest_articles(articles, body.index)
    return IngestOut(**report.to_json(), article_ids=report.article_ids)


@router.delete("/articles/{article_id}", status_code=204, dependencies=[WriteKey])
def delete_article(article_id: str, desk: DeskDep, index: IndexName = None) -> None:
    desk.delete_article(article_id, index)
