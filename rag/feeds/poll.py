"""Polling: one feed read and its new or changed items ingested (`poll`), every feed of an index
(`poll_all`), and a watch that polls them as they fall due (`watch`)."""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, field, replace
from typing import Any

from rag.config import Settings
from rag.errors import (
    FetchError,
    NewsdeskError,
)
from rag.feeds.store import Feed, FeedItem, FeedStore, article_id_for, now, parse_feed, store_for
from rag.feeds.web import Fetched, HostPacer, fetch, read_page
from rag.types import Article

log = logging.getLogger(__name__)


@dataclass
class PollReport:
    feed: str
    status: str
    items: int = 0  # items read from the feed this time (after the cap)
    fetched: int = 0  # pages downloaded
    unchanged: int = 0  # pages that had not changed (304 or the same text)
    ingested: int = 0  # articles added or updated
    errors: list[str] = field(default_factory=list)


Ingest = Callable[[list[Article], str], Any]  # (articles, index) -> IngestReport


def poll(
    feed: Feed, store: FeedStore, settings: Settings, ingest: Ingest, pacer: HostPacer
) -> PollReport:
    """Read the feed once and ingest its new or changed items."""
    feed.last_fetch = now()
    report = PollReport(feed.url, "ok")
    try:
        fetched = fetch(feed.url, settings, feed.etag, feed.modified, pacer)
        if fetched.status == 304:
            feed.status, feed.last_error = "ok", None
            store.save(feed)
            report.status = "not modified"
            return report
        parsed = parse_feed(fetched, settings.feed_max_items)
    except FetchError as exc:
        feed.status, feed.last_error = "error", f"{exc.name}: {exc.message}"
        store.save(feed)
        report.status = "error"
        report.errors.append(feed.last_error)
        return report
    feed.title = parsed.title or feed.title
    report.items = len(parsed.items)
    # Pages are read one after another in a thread while the main thread embeds and writes
    # the pages read before them. A page waits at most `feed_write_wait_s` to be written: read
    # pages are written together once that time is up, the batch is full, or the feed is done,
    # so a fast site is written in few large writes and a slow one page by page as it comes.
    seen: set[str] = set()
    batch: list[tuple[FeedItem, Article, Fetched]] = []
    oldest = 0.0  # when the first page of the batch was read
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="feed-read") as reader:
        reads = deque(
            (item, reader.submit(_read_item, feed, item, store, settings, pacer, report))
            for item in parsed.items
        )
        while reads:
            item, future = reads[0]
            if batch:
                left = oldest + settings.feed_write_wait_s - time.monotonic()
                if not wait([future], timeout=max(left, 0.0)).done:
                    _ingest_batch(feed, batch, store, ingest, report)
                    batch = []
                    continue
            reads.popleft()
            try:
                got = future.result()
                if got and got[0].id not in seen:  # two items, one page
                    seen.add(got[0].id)
                    oldest = oldest if batch else time.monotonic()
                    batch.append((item, *got))
            except NewsdeskError as exc:
                report.errors.append(f"{item.link}: {exc.name}: {exc.message}")
            if batch and (len(batch) >= settings.feed_write_batch or not reads):
                _ingest_batch(feed, batch, store, ingest, report)
                batch = []
    feed.items_seen += report.ingested
    if not report.errors:  # a failed item is tried again: the next poll reads the feed again
        feed.etag, feed.modified = fetched.etag, fetched.modified
    everything_failed = parsed.items and len(report.errors) == len(parsed.items)
    feed.status = "error" if everything_failed else "ok"
    feed.last_error = report.errors[-1] if report.errors else None
    store.save(feed)
    return report


def _ingest_batch(
    feed: Feed,
    batch: list[tuple[FeedItem, Article, Fetched]],
    store: FeedStore,
    ingest: Ingest,
    report: PollReport,
) -> None:
    try:
        done = ingest([article for _, article, _ in batch], feed.index)
    except NewsdeskError as exc:
        report.errors.append(f"{feed.url}: {exc.name}: {exc.message}")
        return
    report.ingested += len(batch) - done.unchanged
    report.unchanged += done.unchanged
    store.save_items(feed, [(item, article.id, page) for item, article, page in batch])


def _read_item(
    feed: Feed,
    item: FeedItem,
    store: FeedStore,
    settings: Settings,
    pacer: HostPacer,
    report: PollReport,
) -> tuple[Article, Fetched] | None:
    """The item's article, or None when its page has not changed since the last poll."""
    known = store.item(feed, item.key)
    page = fetch(item.link, settings, *(known or (None, None)), pacer=pacer)
    report.fetched += 1
    if page.status == 304:
        report.unchanged += 1
        return None
    fallback = {"title": item.title, "url": item.link, "source": feed.title,
                "published_at": item.published_at}  # fmt: skip
    # The article's id comes from the item's link: a page's canonical URL (kept as its url)
    # may name a section front shared by many pages.
    return replace(read_page(page, settings, fallback), id=article_id_for(item.link)), page


def poll_all(
    settings: Settings, ingest: Ingest, index: str | None = None, pacer: HostPacer | None = None
) -> list[PollReport]:
    store = store_for(settings)
    pacer = pacer or HostPacer(settings.fetch_host_delay_s)
    return [poll(f, store, settings, ingest, pacer) for f in store.list(index)]


def watch(
    settings: Settings,
    ingest: Ingest,
    index: str | None = None,
    stop: threading.Event | None = None,
    on_report: Callable[[PollReport], None] | None = None,
) -> None:
    """Poll each feed when it is due (its own `interval_s`, else `feed_interval_s`) until
    `stop` is set. Feeds added meanwhile are picked up within a second."""
    stop = stop or threading.Event()
    pacer = HostPacer(settings.fetch_host_delay_s)
    store = store_for(settings)
    while not stop.is_set():
        feeds = store.list(index)
        for feed in feeds:
            if stop.is_set():
                return
            if feed.due_in(settings, time.time()) > 0:
                continue
            try:
                report = poll(feed, store, settings, ingest, pacer)
            except Exception:  # one feed's failure must not end the watch
                log.exception("polling %s failed", feed.url)
                continue
            if on_report:
                on_report(report)
        waits = [f.due_in(settings, time.time()) for f in store.list(index)]
        stop.wait(min([1.0, *waits]) if waits else 1.0)
