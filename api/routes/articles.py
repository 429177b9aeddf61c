"""Articles: read one with its sentences and offsets (for highlighting a citation)."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from api.deps import DeskDep
from api.schemas import SentenceOut
from rag.types import iso_date, sentence_id

router = APIRouter(prefix="/v1", tags=["articles"])


class ArticleOut(BaseModel):
    id: str
    title: str
    source: str | None
    url: str | None
    published_at: str | None
    author: str | None
    category: str | None
    body: str
    sentences: list[SentenceOut]


@router.get("/articles/{article_id}", response_model=ArticleOut)
def get_article(article_id: str, desk: DeskDep, index: str | None = None) -> ArticleOut:
    article, spans = desk.index(index).get_article(article_id)
    return ArticleOut(
        id=article.id,
        title=article.title,
        source=article.source,
        url=article.url,
        published_at=iso_date(article.published_at),
        author=article.author,
        category=article.category,
        body=article.body,
        sentences=[
            SentenceOut(
                sentence_id=sentence_id(article.id, i),
                text=article.body[s:e],
                char_start=s,
                char_end=e,
            )
            for i, (s, e) in enumerate(spans)
        ],
    )
