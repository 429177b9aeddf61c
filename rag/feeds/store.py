"""RSS/Atom feeds read (`parse_feed`, feedparser) and kept (`FeedStore`: the feeds of every
index and what each poll saw, in one SQLite file under the index folder)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rag.config import Settings
from rag.errors import (
    NotAFeed,
    UnknownFeed,
)
from rag.feeds.web import Fetched
from rag.ingestion.articles import derived_id


@dataclass
class FeedItem:
    key: str  # the item's guid, else its link
    link: str
    title: str | None
    published_at: str | None


@dataclass
class ParsedFeed:
    title: str | None
    items: list[FeedItem]
    total: int  # items in the document, before the cap


def parse_feed(fetched: Fetched, max_items: int) -> ParsedFeed:
    import feedparser

    parsed = feedparser.parse(fetched.body)
    version = parsed.get("version") or ""
    if not version:
        reason = parsed.get("bozo_exception")
        raise NotAFeed(
            f"{fetched.url}: not an RSS or Atom feed" + (f" ({reason})" if reason else "")
        )
    items = []
    for entry in parsed.entries:
        link = entry.get("link")
        if not link:
            continue
        stamp = entry.get("published_parsed") or entry.get("updated_parsed")
        published = datetime(*stamp[:6], tzinfo=UTC).isoformat() if stamp else None  # type: ignore[misc]
        items.append(FeedItem(entry.get("id") or link, link, entry.get("title"), published))
    if parsed.get("bozo") and not items:  # malformed, and nothing could be read from it
        raise NotAFeed(f"{fetched.url}: malformed feed ({parsed.get('bozo_exception')})")
    items.sort(key=lambda i: i.published_at or "", reverse=True)  # newest first under the cap
    return ParsedFeed(parsed.feed.get("title"), items[:max_items], len(items))


@dataclass
class Feed:
    url: str
    index: str
    added: str
    status: str = "new"  # new, ok, error
    last_fetch: str | None = None
    last_error: str | None = None  # "Name: message"
    items_seen: int = 0
    title: str | None = None
    etag: str | None = None
    modified: str | None = None
    interval_s: float | None = None  # how often it is polled; None: settings.feed_interval_s

    def public(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in (
            "url", "index", "title", "status", "last_fetch", "last_error", "items_seen", "added",
            "interval_s",
        )}  # fmt: skip

    def due_in(self, settings: Settings, now: float) -> float:
        """Seconds until this feed's next poll (0 or less: due now)."""
        if self.last_fetch is None:
            return 0.0
        last = datetime.fromisoformat(self.last_fetch).timestamp()
        return last + (self.interval_s or settings.feed_interval_s) - now


class FeedStore:
    """Feeds and the items each has brought in, in `<index_dir>/feeds.sqlite3`."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._db() as db:
            db.executescript(
                """
                CREATE TABLE IF NOT EXISTS feeds (
                    url TEXT, idx TEXT, added TEXT, status TEXT, last_fetch TEXT,
                    last_error TEXT, items_seen INTEGER, title TEXT, etag TEXT, modified TEXT,
                    PRIMARY KEY (url, idx));
                CREATE TABLE IF NOT EXISTS items (
                    feed TEXT, idx TEXT, key TEXT, link TEXT, article_id TEXT, etag TEXT,
                    modified TEXT, PRIMARY KEY (feed, idx, key));
                """
            )
            columns = {row[1] for row in db.execute("PRAGMA table_info(feeds)")}
            if "interval_s" not in columns:  # a store made before feeds had their own schedule
                db.execute("ALTER TABLE feeds ADD COLUMN interval_s REAL")

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        with closing(sqlite3.connect(self.path, timeout=30)) as db, db:
            yield db

    def add(self, url: str, index: str, interval_s: float | None = None) -> Feed:
        """Follow a feed (again: its schedule changes to `interval_s`, nothing else)."""
        feed = Feed(url, index, now())
        with self._db() as db:
            db.execute(
                "INSERT OR IGNORE INTO feeds (url, idx, added, status, items_seen) "
                "VALUES (?,?,?,?,0)",
                (url, index, feed.added, feed.status),
            )
            db.execute(
                "UPDATE feeds SET interval_s = ? WHERE url = ? AND idx = ?",
                (interval_s, url, index),
            )
        return self.get(url, index)

    def get(self, url: str, index: str) -> Feed:
        found = [f for f in self.list(index) if f.url == url]
        if not found:
            raise UnknownFeed(f"no feed {url!r} in index {index!r}")
        return found[0]

    def list(self, index: str | None = None) -> list[Feed]:
        query = "SELECT url, idx, added, status, last_fetch, last_error, items_seen, title, " \
                "etag, modified, interval_s FROM feeds"  # fmt: skip
        with self._db() as db:
            rows = db.execute(query + (" WHERE idx = ?" if index else "") + " ORDER BY added",
                              (index,) if index else ()).fetchall()  # fmt: skip
        return [Feed(*row) for row in rows]

    def remove(self, url: str, index: str) -> None:
        self.get(url, index)
        with self._db() as db:
            db.execute("DELETE FROM feeds WHERE url = ? AND idx = ?", (url, index))
            db.execute("DELETE FROM items WHERE feed = ? AND idx = ?", (url, index))

    def save(self, feed: Feed) -> None:
        with self._db() as db:
            db.execute(
                "UPDATE feeds SET status=?, last_fetch=?, last_error=?, items_seen=?, title=?, "
                "etag=?, modified=? WHERE url=? AND idx=?",
                (feed.status, feed.last_fetch, feed.last_error, feed.items_seen, feed.title,
                 feed.etag, feed.modified, feed.url, feed.index),
            )  # fmt: skip

    def item(self, feed: Feed, key: str) -> tuple[str | None, str | None] | None:
        with self._db() as db:
            row = db.execute(
                "SELECT etag, modified FROM items WHERE feed=? AND idx=? AND key=?",
                (feed.url, feed.index, key),
            ).fetchone()
        return (row[0], row[1]) if row else None

    def save_items(self, feed: Feed, items: Sequence[tuple[FeedItem, str, Fetched]]) -> None:
        """Record pages ingested (item, article id, the page as fetched), in one transaction."""
        with self._db() as db:
            db.executemany(
                "INSERT OR REPLACE INTO items VALUES (?,?,?,?,?,?,?)",
                [(feed.url, feed.index, item.key, item.link, article_id, fetched.etag,
                  fetched.modified) for item, article_id, fetched in items],
            )  # fmt: skip


def article_id_for(link: str) -> str:
    """The id an article fetched from `link` gets, the one `make_article` derives from a URL."""
    return derived_id(link, "", "")


def store_for(settings: Settings) -> FeedStore:
    return FeedStore(settings.index_dir / "feeds.sqlite3")


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
