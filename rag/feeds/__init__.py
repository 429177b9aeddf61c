"""News from the web: RSS/Atom feeds (feedparser) and article pages (trafilatura).

In: a feed's or a page's URL and the settings. Out: articles, handed to ingest.

* `rag.feeds.web`: `fetch` gets one URL politely: http(s) only, to public addresses (or the
  networks the settings allow), every redirect checked the same way and counted, a timeout per
  request, a size cap read as the body streams in, and a conditional GET (ETag /
  Last-Modified) when the caller knows the last ones; a pause between two requests to one
  host. `read_page` extracts an article (text, title, author, date, canonical URL).
* `rag.feeds.store`: `FeedStore` keeps the feeds of every index and what each poll saw, in one
  SQLite file under the index folder; a feed's status, last fetch, last error and items seen
  are what `newsdesk feeds list` and `GET /v1/feeds` show.
* `rag.feeds.poll`: `poll` reads one feed and ingests its new or changed items: an item whose
  page is unchanged (304, or the same text) costs no embedding, because ingest skips an
  article whose content hash it already holds; a changed page replaces the article's
  sentences under the same id.

Every failure is a named `FetchError` recorded in the feed's status; one item's failure does
not stop the others, and one feed's does not stop other feeds.
"""

from rag.feeds.poll import PollReport, poll, poll_all, watch
from rag.feeds.store import Feed, FeedStore, article_id_for, parse_feed, store_for
from rag.feeds.web import Fetched, HostPacer, check_url, fetch, read_page

__all__ = [
    "Feed",
    "FeedStore",
    "Fetched",
    "HostPacer",
    "PollReport",
    "article_id_for",
    "check_url",
    "fetch",
    "parse_feed",
    "poll",
    "poll_all",
    "read_page",
    "store_for",
    "watch",
]
