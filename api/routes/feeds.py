"""Feeds an index follows, and one page fetched into an index: `rag/feeds.py` over HTTP."""

from __future__ import annotations

from typing import Annotated

import anyio
from fastapi import APIRouter, Query

from api.deps import DeskDep, WriteKey
from api.schemas import INDEX_NAME, FeedIn, FeedOut, IngestOut, PageIn
from rag.feeds import HostPacer, check_url, fetch, read_page, store_for

router = APIRouter(prefix="/v1", tags=["feeds"])


def _index(desk: DeskDep, index: str | None) -> str:
    return index or desk.settings.default_index


@router.post("/feeds", response_model=FeedOut, status_code=201, dependencies=[WriteKey])
def add_feed(body: FeedIn, desk: DeskDep) -> FeedOut:
    """Follow a feed; the watcher polls it (`NEWSDESK_WATCH_FEEDS`, or `newsdesk watch`)."""
    check_url(body.url, desk.settings)
    return FeedOut(
        **store_for(desk.settings).add(body.url, _index(desk, body.index), body.interval_s).public()
    )


@router.get("/feeds", response_model=list[FeedOut], dependencies=[WriteKey])
def list_feeds(
    desk: DeskDep, index: Annotated[str | None, Query(pattern=INDEX_NAME)] = None
) -> list[FeedOut]:
    return [FeedOut(**f.public()) for f in store_for(desk.settings).list(index)]


@router.delete("/feeds", status_code=204, dependencies=[WriteKey])
def delete_feed(
    desk: DeskDep,
    url: Annotated[str, Query(max_length=2000)],
    index: Annotated[str | None, Query(pattern=INDEX_NAME)] = None,
) -> None:
    store_for(desk.settings).remove(url, _index(desk, index))


@router.post("/articles/fetch", response_model=IngestOut, dependencies=[WriteKey])
async def fetch_article(body: PageIn, desk: DeskDep) -> IngestOut:
    """Fetch one article page, extract it and ingest it (an update if its URL is known)."""

    def run() -> IngestOut:
        page = fetch(body.url, desk.settings, pacer=HostPacer(0))
        article = read_page(page, desk.settings, {"url": body.url, "source": body.source})
        report = desk.ingest_articles([article], body.index)
        return IngestOut(**report.to_json(), article_ids=report.article_ids)

    return await anyio.to_thread.run_sync(run)
