"""Feeds and pages from a real HTTP server on 127.0.0.1 (started here), read with feedparser and
trafilatura and ingested into a real index with the real embedder."""

from __future__ import annotations

import http.server
import json
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from email.utils import format_datetime
from html import escape
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from bench.servers import free_port
from cli.main import app
from rag.config import Settings
from rag.desk import Desk
from rag.errors import (
    FetchHTTPError,
    FetchTimeout,
    NoArticleText,
    NotAFeed,
    ResponseTooLarge,
    TooManyRedirects,
    URLNotAllowed,
)
from rag.feeds import (
    HostPacer,
    article_id_for,
    check_url,
    fetch,
    poll_all,
    read_page,
    store_for,
)
from rag.types import iso_date
from tests.conftest import CORPUS

ARTICLES = [json.loads(line) for line in CORPUS.open(encoding="utf-8")][:3]


def page_html(article: dict[str, Any], body: str | None = None) -> str:
    paragraphs = "".join(f"<p>{escape(p)}</p>" for p in (body or article["body"]).split("\n") if p)
    return (
        f"<html><head><title>{escape(article['title'])}</title>"
        f'<meta property="og:title" content="{escape(article["title"])}">'
        f'<meta name="author" content="{escape(article.get("author") or "Staff")}">'
        f'<meta property="article:published_time" content="{article["published_at"]}">'
        f"</head><body><nav><a href='/'>Home</a> <a href='/world'>World</a></nav>"
        f"<article><h1>{escape(article['title'])}</h1>{paragraphs}</article>"
        "<footer>Copyright The Test Outlet</footer></body></html>"
    )


def rss(items: list[tuple[str, str, str]], title: str = "Test Outlet") -> str:
    entries = "".join(
        f"<item><title>{escape(t)}</title><link>{escape(link)}</link><guid>{escape(link)}</guid>"
        f"<pubDate>{date}</pubDate></item>"
        for t, link, date in items
    )
    return (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>{title}</title>'
        f"<link>http://example.test/</link><description>news</description>{entries}"
        "</channel></rss>"
    )


def atom(items: list[tuple[str, str, str]]) -> str:
    entries = "".join(
        f'<entry><title>{escape(t)}</title><link href="{escape(link)}"/><id>{escape(link)}</id>'
        f"<updated>{date}</updated></entry>"
        for t, link, date in items
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
        f"<title>Atom Outlet</title><id>urn:atom-outlet</id><updated>2023-12-01T00:00:00Z</updated>"
        f"{entries}</feed>"
    )


class Site:
    """Routes the test changes while the server runs: path -> (status, content type, bytes)."""

    def __init__(self) -> None:
        self.routes: dict[str, tuple[int, str, bytes, dict[str, str]]] = {}
        self.hits: dict[str, int] = {}
        self.hosts: list[str] = []  # the Host header of each request
        self.delays: dict[str, float] = {}  # path -> seconds the server takes to answer

    def put(self, path: str, body: str | bytes, ctype: str = "text/html; charset=utf-8",
            status: int = 200, **headers: str) -> None:  # fmt: skip
        data = body.encode("utf-8") if isinstance(body, str) else body
        self.routes[path] = (status, ctype, data, headers)


def handler_for(site: Site) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            site.hits[self.path] = site.hits.get(self.path, 0) + 1
            site.hosts.append(self.headers.get("Host", ""))
            if self.path == "/hang":
                time.sleep(5)
                return
            time.sleep(site.delays.get(self.path, 0.0))
            if self.path.startswith("/loop"):
                n = int(self.path[5:] or 0)
                self.send_response(302)
                self.send_header("Location", f"/loop{n + 1}")
                self.end_headers()
                return
            if self.path not in site.routes:
                self.send_error(404)
                return
            status, ctype, data, headers = site.routes[self.path]
            etag = f'"{hash(data) & 0xFFFFFFFF:x}"'
            if self.headers.get("If-None-Match") == etag:
                self.send_response(304)
                self.end_headers()
                return
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(data)))
            self.send_header("ETag", etag)
            for k, v in headers.items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    return Handler


@pytest.fixture
def site() -> Iterator[tuple[Site, str]]:
    site = Site()
    port = free_port()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler_for(site))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield site, f"http://127.0.0.1:{port}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        index_dir=tmp_path / "indexes",
        fetch_allow_networks=["127.0.0.0/8"],
        fetch_host_delay_s=0,
        fetch_timeout_s=2,
        fetch_max_bytes=200_000,
        generator_backend="extractive",
    )


def rfc822(iso: str) -> str:
    return format_datetime(datetime.fromisoformat(iso).astimezone(UTC))


def publish(site: Site, base: str, articles: list[dict[str, Any]]) -> None:
    for i, a in enumerate(articles):
        site.put(f"/news/{i}.html", page_html(a))
    site.put(
        "/feed.xml",
        rss(
            [
                (a["title"], f"{base}/news/{i}.html", rfc822(a["published_at"]))
                for i, a in enumerate(articles)
            ]
        ),  # fmt: skip
        "application/rss+xml",
    )


def test_a_feed_is_followed_polled_and_its_items_answer_with_citations(
    site: tuple[Site, str], settings: Settings, embedder: Any
) -> None:
    server, base = site
    publish(server, base, ARTICLES[:2])
    desk = Desk(settings, embedder=embedder)
    store = store_for(settings)
    store.add(f"{base}/feed.xml", "live")

    (report,) = poll_all(settings, desk.ingest_articles, "live")
    assert (report.status, report.items, report.ingested, report.errors) == ("ok", 2, 2, [])
    feed = store.get(f"{base}/feed.xml", "live")
    assert (feed.status, feed.items_seen, feed.title, feed.last_error) == (
        "ok",
        2,
        "Test Outlet",
        None,
    )
    index = desk.index("live")
    article, _ = index.get_article(article_id_for(f"{base}/news/0.html"))
    assert article.title == ARTICLES[0]["title"] and article.source == "Test Outlet"
    assert article.published_at is not None

    # Re-polling an unchanged feed fetches nothing and embeds nothing.
    (again,) = poll_all(settings, desk.ingest_articles, "live")
    assert again.status == "not modified" and again.fetched == 0

    # A new item appears in the feed: the next poll ingests only it, and an answer cites it.
    publish(server, base, ARTICLES[:3])
    (third,) = poll_all(settings, desk.ingest_articles, "live")
    assert (third.items, third.ingested, third.unchanged) == (3, 1, 2)
    new_sentence = next(s for s in ARTICLES[2]["body"].split(". ") if len(s.split()) > 8)
    answer = desk.answer(new_sentence, index="live")
    assert not answer.abstained
    assert any(c.url == f"{base}/news/2.html" or c.title == ARTICLES[2]["title"]
               for c in answer.citations)  # fmt: skip


def test_a_corrected_page_replaces_its_sentences_under_the_same_id(
    site: tuple[Site, str], settings: Settings, embedder: Any
) -> None:
    server, base = site
    publish(server, base, ARTICLES[:1])
    desk = Desk(settings, embedder=embedder)
    store_for(settings).add(f"{base}/feed.xml", "live")
    poll_all(settings, desk.ingest_articles, "live")
    article_id = article_id_for(f"{base}/news/0.html")
    first, _ = desk.index("live").get_article(article_id)
    assert first.updated_at is None
    corrected = "The harbour authority said on Tuesday that the pier reopened after repairs."
    server.put("/news/0.html", page_html(ARTICLES[0], ARTICLES[0]["body"] + "\n" + corrected))
    server.put("/feed.xml", server.routes["/feed.xml"][2] + b" ", "application/rss+xml")
    (report,) = poll_all(settings, desk.ingest_articles, "live")
    assert report.ingested == 1 and report.errors == []
    article, _ = desk.index("live").get_article(article_id)
    assert corrected in article.body
    # the correction keeps the first publication date and records when it came
    assert article.published_at == first.published_at and article.updated_at is not None
    answer = desk.answer("When did the pier reopen after repairs?", index="live")
    (cited,) = [c for c in answer.citations if c.text == corrected]
    # a citation of the corrected article carries both dates
    assert cited.published_at == iso_date(first.published_at)
    assert cited.updated_at == iso_date(article.updated_at)


def test_a_long_poll_is_written_in_batches_while_pages_are_read(
    site: tuple[Site, str], settings: Settings, embedder: Any
) -> None:
    server, base = site
    publish(server, base, ARTICLES[:3])
    settings = settings.model_copy(update={"feed_write_batch": 2})
    desk = Desk(settings, embedder=embedder)
    writes: list[int] = []
    ingest = desk.ingest_articles

    def counted(articles: Any, index: str) -> Any:
        writes.append(len(articles))
        return ingest(articles, index)

    store_for(settings).add(f"{base}/feed.xml", "live")
    (report,) = poll_all(settings, counted, "live")
    assert (report.ingested, report.errors, writes) == (3, [], [2, 1])
    assert desk.index("live").article_count() == 3
    (again,) = poll_all(settings, counted, "live")
    assert again.status == "not modified" and writes == [2, 1]


def test_pages_already_read_are_written_without_waiting_for_a_slow_one(
    site: tuple[Site, str], settings: Settings, embedder: Any
) -> None:
    server, base = site
    publish(server, base, ARTICLES[:3])
    # Pages are read newest first: the oldest is read last, and its server is slow.
    oldest = min(range(3), key=lambda i: ARTICLES[i]["published_at"])
    server.delays[f"/news/{oldest}.html"] = 1.0  # under the 2 s fetch timeout
    settings = settings.model_copy(update={"feed_write_batch": 100, "feed_write_wait_s": 0.2})
    desk = Desk(settings, embedder=embedder)
    writes: list[int] = []
    ingest = desk.ingest_articles

    def counted(articles: Any, index: str) -> Any:
        writes.append(len(articles))
        return ingest(articles, index)

    store_for(settings).add(f"{base}/feed.xml", "live")
    (report,) = poll_all(settings, counted, "live")
    assert (report.ingested, report.errors, writes) == (3, [], [2, 1])


def test_each_feed_is_polled_on_its_own_schedule(
    site: tuple[Site, str], settings: Settings, embedder: Any
) -> None:
    import threading

    from rag.feeds import watch

    server, base = site
    publish(server, base, ARTICLES[:1])
    server.put("/other.xml", server.routes["/feed.xml"][2], "application/rss+xml")
    desk = Desk(settings, embedder=embedder)
    store = store_for(settings)
    store.add(f"{base}/feed.xml", "live", interval_s=1)
    slow = store.add(f"{base}/other.xml", "live", interval_s=3600)
    assert slow.public()["interval_s"] == 3600
    polled: list[str] = []
    stop = threading.Event()
    thread = threading.Thread(
        target=watch,
        args=(settings, desk.ingest_articles, "live", stop, lambda r: polled.append(r.feed)),
    )
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while polled.count(f"{base}/feed.xml") < 3 and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        stop.set()
        thread.join(30)
    assert polled.count(f"{base}/feed.xml") >= 3
    assert polled.count(f"{base}/other.xml") == 1  # due once an hour: polled when added only


def test_a_feed_store_from_before_schedules_is_read(settings: Settings) -> None:
    import sqlite3

    path = settings.index_dir / "feeds.sqlite3"
    path.parent.mkdir(parents=True)
    with sqlite3.connect(path) as db:
        db.execute(
            "CREATE TABLE feeds (url TEXT, idx TEXT, added TEXT, status TEXT, last_fetch TEXT, "
            "last_error TEXT, items_seen INTEGER, title TEXT, etag TEXT, modified TEXT, "
            "PRIMARY KEY (url, idx))"
        )
        db.execute(
            "INSERT INTO feeds VALUES ('http://127.0.0.1/f.xml', 'live', "
            "'2026-01-01T00:00:00+00:00', 'ok', NULL, NULL, 4, 'Old', NULL, NULL)"
        )
    (feed,) = store_for(settings).list("live")
    assert (feed.items_seen, feed.title, feed.interval_s) == (4, "Old", None)


def test_an_atom_feed_is_read_too(
    site: tuple[Site, str], settings: Settings, embedder: Any
) -> None:
    server, base = site
    a = ARTICLES[0]
    server.put("/a.html", page_html(a))
    server.put("/atom.xml", atom([(a["title"], f"{base}/a.html", a["published_at"])]),
               "application/atom+xml")  # fmt: skip
    desk = Desk(settings, embedder=embedder)
    store_for(settings).add(f"{base}/atom.xml", "live")
    (report,) = poll_all(settings, desk.ingest_articles, "live")
    assert (report.status, report.ingested) == ("ok", 1)
    assert store_for(settings).get(f"{base}/atom.xml", "live").title == "Atom Outlet"


def test_bad_feeds_get_named_errors_and_other_feeds_go_on(
    site: tuple[Site, str], settings: Settings, embedder: Any
) -> None:
    server, base = site
    publish(server, base, ARTICLES[:1])
    server.put("/broken.xml", "<rss><channel><item><title>oops</", "application/rss+xml")
    server.put("/page.html", page_html(ARTICLES[1]))
    server.put("/gone.xml", "gone", status=410)
    desk = Desk(settings, embedder=embedder)
    store = store_for(settings)
    for path in ("/broken.xml", "/page.html", "/gone.xml", "/missing.xml", "/loop", "/feed.xml"):
        store.add(base + path, "live")
    reports = {r.feed[len(base) :]: r for r in poll_all(settings, desk.ingest_articles, "live")}
    errors = {p: (store.get(base + p, "live").last_error or "").split(":")[0] for p in reports}
    assert errors == {
        "/broken.xml": "NotAFeed",
        "/page.html": "NotAFeed",
        "/gone.xml": "FetchHTTPError",
        "/missing.xml": "FetchHTTPError",
        "/loop": "TooManyRedirects",
        "/feed.xml": "",
    }
    assert reports["/feed.xml"].ingested == 1
    assert all(store.get(base + p, "live").status == "error" for p in errors if p != "/feed.xml")


def test_an_item_that_failed_is_tried_again_on_the_next_poll(
    site: tuple[Site, str], settings: Settings, embedder: Any
) -> None:
    server, base = site
    publish(server, base, ARTICLES[:2])
    server.put("/news/1.html", "busy", status=503)
    desk = Desk(settings, embedder=embedder)
    store_for(settings).add(f"{base}/feed.xml", "live")
    (first,) = poll_all(settings, desk.ingest_articles, "live")
    assert first.ingested == 1 and "FetchHTTPError" in first.errors[0]
    server.put("/news/1.html", page_html(ARTICLES[1]))  # the feed itself has not changed
    (second,) = poll_all(settings, desk.ingest_articles, "live")
    assert (second.status, second.ingested, second.errors) == ("ok", 1, [])
    assert store_for(settings).get(f"{base}/feed.xml", "live").items_seen == 2


def test_fetch_refuses_and_caps(site: tuple[Site, str], settings: Settings) -> None:
    server, base = site
    with pytest.raises(URLNotAllowed):
        fetch("file:///etc/passwd", settings)
    for broken in ("http://127.0.0.1:99999/feed.xml", "http://[::1/feed.xml"):
        with pytest.raises(URLNotAllowed):
            fetch(broken, settings)
    with pytest.raises(URLNotAllowed):  # loopback, when the settings do not allow it
        fetch(f"{base}/feed.xml", Settings(index_dir=settings.index_dir))
    with pytest.raises(URLNotAllowed):  # a host outside the allowed names, before any look-up
        fetch("http://news.invalid/feed.xml", Settings(fetch_allow_hosts=["127.0.0.1"]))
    server.put("/big.html", "<p>" + "x" * 300_000 + "</p>")
    with pytest.raises(ResponseTooLarge):
        fetch(f"{base}/big.html", settings)
    with pytest.raises(FetchTimeout):
        fetch(f"{base}/hang", settings)
    with pytest.raises(TooManyRedirects):
        fetch(f"{base}/loop", settings)
    with pytest.raises(FetchHTTPError):
        fetch(f"{base}/nothing-here", settings)
    # A redirect to an address the settings refuse is refused at that hop.
    server.put("/away", "", status=302, Location="http://10.255.255.1/")
    with pytest.raises(URLNotAllowed):
        fetch(f"{base}/away", settings)


def test_each_hop_connects_to_the_address_that_was_checked(
    site: tuple[Site, str], settings: Settings, monkeypatch: Any
) -> None:
    """A name that resolves to an allowed address when checked and to another one a moment
    later (DNS rebinding) is fetched from the checked address. The resolver is replaced here:
    the test cannot run a DNS server that rebinds."""
    import socket

    import rag.feeds.web

    server, base = site
    port = int(base.rsplit(":", 1)[1])
    server.put("/start", b"", status=302, Location=f"http://news.test:{port}/page")
    server.put("/page", "<html><body>fine</body></html>")
    answers = iter(["127.0.0.1", "127.0.0.1", "10.0.0.1", "10.0.0.1"])
    calls: list[str] = []

    def rebinding(host: str, *args: Any, **kwargs: Any) -> list:
        calls.append(host)
        address = next(answers) if host == "news.test" else host
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]

    monkeypatch.setattr(rag.feeds.web.socket, "getaddrinfo", rebinding)
    got = fetch(f"http://news.test:{port}/start", settings)
    assert (got.status, got.url, got.body) == (
        200,
        f"http://news.test:{port}/page",
        b"<html><body>fine</body></html>",
    )
    # the name is resolved once per hop, by the check; the connection only "resolves" the
    # literal address it was given
    assert [c for c in calls if c != "127.0.0.1"] == ["news.test", "news.test"]
    assert server.hosts[-2:] == [f"news.test:{port}"] * 2  # the name is still sent as Host
    # the next resolution is private: that hop is refused before anything is sent
    with pytest.raises(URLNotAllowed):
        fetch(f"http://news.test:{port}/page", settings)


def test_pages_without_article_text_and_other_encodings(
    site: tuple[Site, str], settings: Settings
) -> None:
    server, base = site
    server.put("/empty.html", "<html><body><nav><a href='/'>Home</a></nav></body></html>")
    with pytest.raises(NoArticleText):
        read_page(fetch(f"{base}/empty.html", settings), settings)
    body = (
        "Les élèves du lycée ont présenté leurs travaux à la mairie de Besançon jeudi soir. "
        "Le maire a salué un travail remarquable et promis une exposition au printemps."
    )
    latin = page_html(
        {"title": "Exposition à Besançon", "body": body, "published_at": "2024-01-04"}
    )
    server.put("/latin.html", latin.encode("latin-1"), "text/html; charset=iso-8859-1")
    article = read_page(fetch(f"{base}/latin.html", settings), settings)
    assert "élèves" in article.body and article.title == "Exposition à Besançon"
    with pytest.raises(NotAFeed):
        from rag.feeds import parse_feed

        parse_feed(fetch(f"{base}/latin.html", settings), 10)


def test_a_huge_feed_is_read_up_to_the_cap_newest_first(
    site: tuple[Site, str], settings: Settings
) -> None:
    from rag.feeds import parse_feed

    server, base = site
    days = [f"2023-{1 + i % 12:02d}-{1 + i % 28:02d}T00:00:00+00:00" for i in range(10_000)]
    items = [(f"Item {i}", f"{base}/i/{i}", rfc822(day)) for i, day in enumerate(days)]
    server.put("/huge.xml", rss(items), "application/rss+xml")
    huge = Settings(**{**settings.model_dump(), "fetch_max_bytes": 5_000_000})
    parsed = parse_feed(fetch(f"{base}/huge.xml", huge), huge.feed_max_items)
    assert parsed.total == 10_000 and len(parsed.items) == huge.feed_max_items
    dates = [i.published_at for i in parsed.items]
    assert dates == sorted(dates, reverse=True)


def test_the_host_pacer_spaces_requests_to_one_host() -> None:
    pacer = HostPacer(0.2)
    started = time.monotonic()
    for _ in range(3):
        pacer.wait("example.test")
    pacer.wait("other.test")
    assert time.monotonic() - started >= 0.4


def test_feeds_cli(site: tuple[Site, str], settings: Settings, monkeypatch: Any) -> None:
    _, base = site
    monkeypatch.setenv("NEWSDESK_INDEX_DIR", str(settings.index_dir))
    monkeypatch.setenv("NEWSDESK_FETCH_ALLOW_NETWORKS", '["127.0.0.0/8"]')
    runner = CliRunner()
    added = runner.invoke(app, ["feeds", "add", f"{base}/feed.xml", "--index", "live"])
    assert added.exit_code == 0, added.output
    listed = json.loads(runner.invoke(app, ["feeds", "list"]).output)
    assert [(f["url"], f["index"], f["status"]) for f in listed] == [
        (f"{base}/feed.xml", "live", "new")
    ]
    refused = runner.invoke(app, ["feeds", "add", "file:///etc/passwd"])
    assert refused.exit_code == 2 and "URLNotAllowed" in refused.stderr


WRITE = {"Authorization": "Bearer write-secret"}


def test_the_service_follows_feeds_and_answers_from_a_new_item(
    site: tuple[Site, str], settings: Settings, embedder: Any
) -> None:
    from fastapi.testclient import TestClient

    from api.main import create_app

    server, base = site
    publish(server, base, ARTICLES[:1])
    live = Settings(
        **settings.model_dump()
        | {"write_keys": ["write-secret"], "watch_feeds": True, "feed_interval_s": 1,
           "default_index": "live"}
    )  # fmt: skip
    desk = Desk(live, embedder=embedder)
    with TestClient(create_app(live, desk)) as client:
        refused = client.post("/v1/feeds", json={"url": f"{base}/feed.xml"})
        assert refused.status_code == 401
        bad = client.post("/v1/feeds", json={"url": "file:///etc/passwd"}, headers=WRITE)
        assert (bad.status_code, bad.json()["error"]) == (422, "URLNotAllowed")
        added = client.post("/v1/feeds", json={"url": f"{base}/feed.xml"}, headers=WRITE)
        assert added.status_code == 201 and added.json()["status"] == "new"

        # A new item appears in the feed while the service runs; it gets asked about and cited.
        publish(server, base, ARTICLES[:3])
        sentence = next(s for s in ARTICLES[2]["body"].split(". ") if len(s.split()) > 8)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            feeds = client.get("/v1/feeds", headers=WRITE).json()
            if feeds[0]["items_seen"] >= 3:
                break
            time.sleep(0.5)
        assert feeds[0]["status"] == "ok" and feeds[0]["items_seen"] == 3, feeds
        answer = client.post("/v1/ask", json={"question": sentence}).json()
        assert any(c["title"] == ARTICLES[2]["title"] for c in answer["citations"]), answer

        # One page, fetched on request.
        server.put("/one.html", page_html(ARTICLES[0] | {"title": "A page fetched on its own"}))
        fetched = client.post("/v1/articles/fetch", json={"url": f"{base}/one.html"},
                              headers=WRITE)  # fmt: skip
        assert fetched.status_code == 200 and fetched.json()["added"] == 1
        (article_id,) = fetched.json()["article_ids"]
        assert client.get(f"/v1/articles/{article_id}").json()["title"] == (
            "A page fetched on its own"
        )
        empty = client.post("/v1/articles/fetch", json={"url": f"{base}/nothing"}, headers=WRITE)
        assert empty.json()["error"] == "FetchHTTPError"

        gone = client.delete("/v1/feeds", params={"url": f"{base}/feed.xml"}, headers=WRITE)
        assert gone.status_code == 204 and client.get("/v1/feeds", headers=WRITE).json() == []
        # Which feeds are followed, and their errors, are the writers' business.
        assert client.get("/v1/feeds").status_code == 401
        again = client.delete("/v1/feeds", params={"url": f"{base}/feed.xml"}, headers=WRITE)
        assert (again.status_code, again.json()["error"]) == (404, "UnknownFeed")


@pytest.mark.parametrize(
    "host",
    [
        "[64:ff9b::a9fe:a9fe]",  # NAT64 of 169.254.169.254
        "[2002:a9fe:a9fe::]",  # 6to4 of 169.254.169.254
        "[::127.0.0.1]",  # IPv4-compatible loopback
        "[::ffff:10.0.0.1]",  # IPv4-mapped private
        "[2001:0:4136:e378:8000:63bf:80ff:fffe]",  # Teredo to 127.0.0.1
    ],
)
def test_an_ipv6_address_that_carries_a_local_ipv4_one_is_refused(host: str) -> None:
    with pytest.raises(URLNotAllowed):
        check_url(f"http://{host}/feed.xml", Settings())


def test_an_ipv6_address_that_carries_a_public_ipv4_one_is_fetched() -> None:
    assert check_url("http://[64:ff9b::808:808]/feed.xml", Settings()) == "64:ff9b::808:808"
