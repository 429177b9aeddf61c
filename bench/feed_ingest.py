"""Ingest from feeds: pages fetched and extracted vs the raw encoder on the same text.

A local HTTP server on 127.0.0.1 serves an RSS feed of N MultiHop-RAG articles as HTML pages.
In one run, on one machine:
  * feed   - `rag.feeds.poll_all` into an empty index: fetch the feed, fetch and extract every
             page (trafilatura), chunk, embed and write;
  * raw    - the embedder alone (`embedder.embed`) on the texts of the chunks that poll wrote;
  * repoll - the same feed polled again, unchanged: requests, and how many chunks it embeds.
Throughput is articles per second; the ratio is raw time / feed time (1.0 = no overhead).
The model is loaded and the index opened before either is timed, as in a running service.

    .venv/bin/python bench/feed_ingest.py [--articles 100]
"""

from __future__ import annotations

import argparse
import http.server
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C  # noqa: E402

NAME = "feed_ingest"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=100)
    args = parser.parse_args()

    from rag.chunking import embed_text
    from rag.desk import Desk
    from rag.feeds import poll_all, store_for
    from tests.test_feeds import Site, handler_for, page_html, publish

    info = C.machine_info()
    articles = C.read_jsonl(C.ARTICLES)[: args.articles]
    site = Site()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler_for(site))
    base = f"http://127.0.0.1:{server.server_address[1]}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    publish(site, base, articles)
    page_bytes = sum(len(page_html(a)) for a in articles)
    with C.temp_index_dir(NAME) as tmp:
        settings = C.make_settings(
            tmp, fetch_allow_networks=["127.0.0.0/8"], fetch_host_delay_s=0, embed_threads=0
        )
        desk = Desk(settings)
        embedder = desk.embedder
        embedder.embed(["warm up"])
        # Opened before timing, as in a running service (the raw encoder's load is not timed).
        desk.retriever("feeds", create=True).warm()
        store_for(settings).add(f"{base}/feed.xml", "feeds")

        started = time.perf_counter()
        (first,) = poll_all(settings, desk.ingest_articles, "feeds")
        feed_s = time.perf_counter() - started

        # what ingest embedded: each chunk's text under its article's title
        texts = [embed_text(c.meta["title"], c.text) for c in desk.index("feeds").all_chunks()]
        started = time.perf_counter()
        embedder.embed(texts)
        raw_s = time.perf_counter() - started

        before = site.hits.copy()
        started = time.perf_counter()
        (again,) = poll_all(settings, desk.ingest_articles, "feeds")
        repoll_s = time.perf_counter() - started
        requests = sum(site.hits.values()) - sum(before.values())
        desk.close()
        C.forget_chroma_clients()
    server.shutdown()

    ratio = raw_s / feed_s
    rows = [
        ["feed (fetch, extract, chunk, embed, write)", first.ingested, round(feed_s, 2),
         round(first.ingested / feed_s, 2)],
        ["raw encoder on the same chunk texts", len(texts), round(raw_s, 2),
         round(first.ingested / raw_s, 2)],
    ]  # fmt: skip
    markdown = "\n".join(
        [
            f"# Ingest from a feed ({NAME}.py)",
            "",
            *C.machine_lines(info),
            f"- {args.articles} MultiHop-RAG articles as HTML pages ({page_bytes:,} bytes) in "
            "one RSS feed, served on 127.0.0.1 by the test suite's server",
            "",
            C.md_table(["run", "articles / chunks", "seconds", "articles per second"], rows),
            "",
            f"Feed ingest throughput / the raw encoder's: **{ratio:.2f}x** (goal >= 0.8x).",
            f"Re-polling the unchanged feed: {requests} request(s), status {again.status!r}, "
            f"{again.ingested} articles ingested, {repoll_s:.2f} s.",
        ]
    )
    print(markdown)
    C.write_results(NAME, markdown, {
        "machine": info, "articles": args.articles, "feed_s": feed_s, "raw_s": raw_s,
        "ratio": ratio, "chunks": len(texts), "repoll": {"requests": requests,
        "status": again.status, "ingested": again.ingested, "seconds": repoll_s},
        "errors": first.errors,
    })  # fmt: skip


if __name__ == "__main__":
    main()
