"""News from the web: RSS/Atom feeds (feedparser) and article pages (trafilatura).

* `fetch` gets one URL politely: http(s) only, to public addresses (or the networks the
  settings allow), every redirect checked the same way and counted, a timeout per request, a
  size cap read as the body streams in, and a conditional GET (ETag / Last-Modified) when the
  caller knows the last ones. A pause between two requests to one host.
* `read_page` extracts an article (text, title, author, date, canonical URL) with trafilatura.
* `FeedStore` keeps the feeds of every index and what each poll saw, in one SQLite file under
  the index folder; a feed's status, last fetch, last error and items seen are what
  `newsdesk feeds list` and `GET /v1/feeds` show.
* `poll` reads one feed and ingests its new or changed items: an item whose page is unchanged
  (304, or the same text) costs no embedding, because ingest skips an article whose content
  hash it already holds; a changed page replaces the article's sentences under the same id.

Every failure is a named `FetchError` recorded in the feed's status; one item's failure does
not stop the others, and one feed's does not stop other feeds.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
import sqlite3
import ssl
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor, wait
from contextlib import closing, contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx

from rag.articles import derived_id, make_article
from rag.config import Settings
from rag.errors import (
    FetchError,
    FetchHTTPError,
    FetchTimeout,
    FetchUnreachable,
    NewsdeskError,
    NoArticleText,
    NotAFeed,
    ResponseTooLarge,
    TooManyRedirects,
    UnknownFeed,
    URLNotAllowed,
)
from rag.types import Article

USER_AGENT = "Newsdesk/0.1 (+self-hosted news questions)"
log = logging.getLogger(__name__)


# --- fetching --------------------------------------------------------------------------------
@dataclass
class Fetched:
    url: str  # after redirects
    status: int  # 200, or 304 when the caller's validators still hold
    body: bytes = b""
    etag: str | None = None
    modified: str | None = None
    content_type: str = ""


class HostPacer:
    """At most one request to a host every `delay_s` seconds, across threads."""

    def __init__(self, delay_s: float) -> None:
        self.delay_s = delay_s
        self._last: dict[str, float] = {}
        self._lock = threading.Lock()

    def wait(self, host: str) -> None:
        with self._lock:
            now = time.monotonic()
            start = max(now, self._last.get(host, -1e9) + self.delay_s)
            self._last[host] = start
        if start > now:
            time.sleep(start - now)


def check_url(url: str, settings: Settings) -> str:
    """Refuse what is not http(s) or resolves to an address outside what the settings allow;
    the address to connect to (one of those checked) otherwise."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:  # a port out of range, a broken IPv6 host
        raise URLNotAllowed(f"{url!r}: not a valid URL ({exc})") from exc
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise URLNotAllowed(f"{url!r}: only http and https URLs with a host are fetched")
    hosts = {h.lower() for h in settings.fetch_allow_hosts}
    if hosts and parts.hostname.lower() not in hosts:
        raise URLNotAllowed(f"{url}: {parts.hostname} is not in NEWSDESK_FETCH_ALLOW_HOSTS")
    allowed = [ipaddress.ip_network(n, strict=False) for n in settings.fetch_allow_networks]
    try:
        infos = socket.getaddrinfo(parts.hostname, port or None, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise FetchUnreachable(f"{url}: the host {parts.hostname!r} does not resolve") from exc
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if any(address in network for network in allowed):
            continue
        if not address.is_global or any(not v4.is_global for v4 in _embedded_ipv4(address)):
            raise URLNotAllowed(
                f"{url}: {parts.hostname} is {address}, a private or local address "
                "(NEWSDESK_FETCH_ALLOW_NETWORKS lists the ones that may be fetched)"
            )
    return str(infos[0][4][0])


_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))


def _embedded_ipv4(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> list:
    """The IPv4 addresses an IPv6 address carries (mapped, 6to4, Teredo, NAT64, or the old
    IPv4-compatible form): a route to them, which must pass the same check."""
    if address.version != 6:
        return []
    assert isinstance(address, ipaddress.IPv6Address)
    found = [address.ipv4_mapped, address.sixtofour]
    if address.teredo:
        found.extend(address.teredo)
    last32 = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if any(address in network for network in _NAT64) or int(address) >> 32 == 0:
        found.append(last32)
    return [a for a in found if a is not None]


def _pinned(url: str, address: str) -> tuple[str, str]:
    """The URL with its host replaced by the checked address, and the Host header to send:
    the connection goes where the check looked, whatever the name resolves to next."""
    parts = urlsplit(url)
    literal = f"[{address}]" if ":" in address else address
    netloc = literal if parts.port is None else f"{literal}:{parts.port}"
    host = parts.hostname or ""
    header = host if parts.port is None else f"{host}:{parts.port}"
    return parts._replace(netloc=netloc).geturl(), header


@cache
def _tls() -> ssl.SSLContext:
    """One TLS context for every fetch: building one reads the CA store (~40 ms)."""
    return ssl.create_default_context()


def fetch(
    url: str,
    settings: Settings,
    etag: str | None = None,
    modified: str | None = None,
    pacer: HostPacer | None = None,
) -> Fetched:
    headers = {"User-Agent": USER_AGENT}
    if etag:
        headers["If-None-Match"] = etag
    if modified:
        headers["If-Modified-Since"] = modified

    client = httpx.Client(
        verify=_tls(),
        follow_redirects=False,  # each hop is checked and pinned here
        timeout=settings.fetch_timeout_s,
        trust_env=False,  # no proxies from the environment: the checked address is the one used
    )
    try:
        with client, _follow(client, url, headers, settings, pacer) as (final, response):
            if response.status_code == 304:
                return Fetched(final, 304, etag=etag, modified=modified)
            if response.status_code >= 400:
                raise FetchHTTPError(f"{url}: the server answered {response.status_code}")
            declared = int(response.headers.get("content-length") or 0)
            if declared > settings.fetch_max_bytes:
                raise _too_large(url, settings)
            body = bytearray()
            deadline = time.monotonic() + settings.fetch_timeout_s
            for piece in response.iter_bytes():
                body += piece
                if len(body) > settings.fetch_max_bytes:
                    raise _too_large(url, settings)
                if time.monotonic() > deadline:  # a server that trickles bytes forever
                    raise FetchTimeout(f"{url}: no whole response in {settings.fetch_timeout_s}s")
            return Fetched(
                final,
                response.status_code,
                bytes(body),
                response.headers.get("etag"),
                response.headers.get("last-modified"),
                response.headers.get("content-type", ""),
            )
    except httpx.TooManyRedirects as exc:
        raise TooManyRedirects(
            f"{url}: more than {settings.fetch_max_redirects} redirects"
        ) from exc
    except httpx.TimeoutException as exc:
        raise FetchTimeout(f"{url}: no answer in {settings.fetch_timeout_s}s") from exc
    except httpx.InvalidURL as exc:
        raise URLNotAllowed(f"{url!r}: not a valid URL ({exc})") from exc
    except httpx.HTTPError as exc:
        raise FetchUnreachable(f"{url}: {type(exc).__name__}: {exc}") from exc


@contextmanager
def _follow(
    client: httpx.Client,
    url: str,
    headers: dict[str, str],
    settings: Settings,
    pacer: HostPacer | None,
) -> Iterator[tuple[str, httpx.Response]]:
    """GET `url`, following redirects; every hop is checked, paced and sent to the address
    the check resolved (a name that resolves elsewhere the second time is not followed)."""
    current = url
    for _ in range(settings.fetch_max_redirects + 1):
        address = check_url(current, settings)
        target, host = _pinned(current, address)
        if pacer is not None:
            pacer.wait(urlsplit(current).hostname or "")
        request = client.build_request(
            "GET",
            target,
            headers=headers | {"Host": host},
            extensions={"sni_hostname": urlsplit(current).hostname},
        )
        response = client.send(request, stream=True)
        if not response.has_redirect_location:
            try:
                yield current, response
            finally:
                response.close()
            return
        response.close()
        current = urljoin(current, response.headers["location"])
    raise httpx.TooManyRedirects(f"more than {settings.fetch_max_redirects} redirects")


def _too_large(url: str, settings: Settings) -> ResponseTooLarge:
    return ResponseTooLarge(
        f"{url}: larger than {settings.fetch_max_bytes:,} bytes (NEWSDESK_FETCH_MAX_BYTES)"
    )


# --- pages -----------------------------------------------------------------------------------
def read_page(
    fetched: Fetched, settings: Settings, fallback: dict[str, Any] | None = None
) -> Article:
    """The article on a page: trafilatura's text and metadata; the feed item's title, date and
    outlet fill what the page lacks."""
    import trafilatura

    fallback = fallback or {}
    html = fetched.body.decode(_charset(fetched.content_type) or "utf-8", errors="replace")
    extracted = trafilatura.bare_extraction(
        html,
        url=fetched.url,
        with_metadata=True,
        include_comments=False,
        favor_precision=True,
        fast=True,  # trafilatura's own extractor, without the slower fallbacks compared to it
    )
    doc = extracted.as_dict() if extracted is not None else {}
    text = doc.get("text") or ""
    title = doc.get("title") or fallback.get("title")
    if not text.strip() or not title:
        raise NoArticleText(f"{fetched.url}: the page holds no article (no text or no title)")
    fields = {
        "title": title,
        "body": text,
        "url": doc.get("url") or fallback.get("url") or fetched.url,
        "source": fallback.get("source") or doc.get("sitename"),
        "author": doc.get("author") or fallback.get("author"),
        "published_at": doc.get("date") or fallback.get("published_at"),
    }
    return make_article(
        {k: v for k, v in fields.items() if v is not None}, fetched.url, settings.max_article_chars
    )


def _charset(content_type: str) -> str | None:
    for piece in content_type.split(";")[1:]:
        key, _, value = piece.strip().partition("=")
        if key.lower() == "charset" and value:
            try:
                "".encode(value.strip('"'))
                return value.strip('"')
            except LookupError:
                return None
    return None


# --- feeds -----------------------------------------------------------------------------------
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
        published = datetime(*stamp[:6], tzinfo=UTC).isoformat() if stamp else None
        items.append(FeedItem(entry.get("id") or link, link, entry.get("title"), published))
    if parsed.get("bozo") and not items:  # malformed, and nothing could be read from it
        raise NotAFeed(f"{fetched.url}: malformed feed ({parsed.get('bozo_exception')})")
    items.sort(key=lambda i: i.published_at or "", reverse=True)  # newest first under the cap
    return ParsedFeed(parsed.feed.get("title"), items[:max_items], len(items))


# --- the store -------------------------------------------------------------------------------
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
        feed = Feed(url, index, _now())
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

    def save_items(self, feed: Feed, items: list[tuple[FeedItem, str, Fetched]]) -> None:
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


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


# --- polling ---------------------------------------------------------------------------------
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
    feed.last_fetch = _now()
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
