"""Ingest from feeds: pages fetched and extracted vs the raw encoder on the same text.

A local HTTP server on 127.0.0.1, in a process of its own as a site would be, serves an RSS
feed of N MultiHop-RAG articles as HTML pages.
In one run, on one machine:
  * feed   - `rag.feeds.poll_all` into an empty index: fetch the feed, fetch and extract every
             page (trafilatura), chunk, embed and write;
  * raw    - the embedder alone (`embedder.embed`) on the texts of the chunks that poll wrote;
  * repoll - the same feed polled again, unchanged: requests, and how many chunks it embeds.
The ratio is raw time / feed time (1.0 = no overhead), paired within a repetition; repetitions
alternate which runs first, and the median is reported.
The model is loaded and the index opened before either is timed, and one untimed repetition
runs first (the libraries' first-use costs), as in a running service.

    .venv/bin/python bench/feed_ingest.py [--articles 100]
"""

from __future__ import annotations

import argparse
import http.server
import multiprocessing
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C  # noqa: E402

NAME = "feed_ingest"


def _one(base: str, articles: int, write_batch: int, raw_first: bool) -> dict:
    """One repetition in a fresh index: the feed poll and the raw encoder, in the given order."""
    from rag.desk import Desk
    from rag.feeds import poll_all, store_for
    from rag.types import embed_text

    with C.temp_index_dir(NAME) as tmp:
        settings = C.make_settings(
            tmp,
            fetch_allow_networks=["127.0.0.0/8"],
            fetch_host_delay_s=0,
            embed_threads=0,
            feed_write_batch=write_batch,
        )
        desk = Desk(settings)
        embedder = desk.embedder
        embedder.embed(["warm up"])
        # Opened before timing, as in a running service (the raw encoder's load is not timed).
        desk.retriever("feeds", create=True).warm()
        store_for(settings).add(f"{base}/feed.xml", "feeds")
        # What ingest embeds: each chunk's text under its article's title. Known only after
        # a poll, so a raw-first repetition polls a throwaway index first to learn them.
        texts = _chunk_texts(base, settings) if raw_first else None
        raw_s = _raw(embedder, texts) if raw_first else 0.0

        started = time.perf_counter()
        (first,) = poll_all(settings, desk.ingest_articles, "feeds")
        feed_s = time.perf_counter() - started

        if not raw_first:
            texts = [embed_text(c.meta["title"], c.text) for c in desk.index("feeds").all_chunks()]
            raw_s = _raw(embedder, texts)

        started = time.perf_counter()
        (again,) = poll_all(settings, desk.ingest_articles, "feeds")
        repoll_s = time.perf_counter() - started
        desk.close()
        C.forget_chroma_clients()
    return {
        "order": "raw,feed" if raw_first else "feed,raw",
        "feed_s": feed_s,
        "raw_s": raw_s,
        "ratio": raw_s / feed_s,
        "ingested": first.ingested,
        "chunks": len(texts or []),
        "errors": first.errors,
        "repoll": {"status": again.status, "ingested": again.ingested, "seconds": repoll_s},
    }


def _raw(embedder, texts) -> float:  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    embedder.embed(texts)
    return time.perf_counter() - started


def _chunk_texts(base: str, settings) -> list[str]:  # type: ignore[no-untyped-def]
    from rag.desk import Desk
    from rag.feeds import poll_all, store_for
    from rag.types import embed_text

    with C.temp_index_dir(NAME) as tmp:
        probe = settings.model_copy(update={"index_dir": tmp})
        desk = Desk(probe)
        store_for(probe).add(f"{base}/feed.xml", "feeds")
        poll_all(probe, desk.ingest_articles, "feeds")
        texts = [embed_text(c.meta["title"], c.text) for c in desk.index("feeds").all_chunks()]
        desk.close()
        C.forget_chroma_clients()
    return texts


def _serve(articles: int, ready) -> None:  # type: ignore[no-untyped-def]
    """The site: the test suite's server, serving until its process is ended."""
    from tests.test_feeds import Site, handler_for, page_html, publish

    chosen = C.read_jsonl(C.ARTICLES)[:articles]
    site = Site()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler_for(site))
    base = f"http://127.0.0.1:{server.server_address[1]}"
    publish(site, base, chosen)
    ready.put((base, sum(len(page_html(a)) for a in chosen)))
    server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=100)
    parser.add_argument("--reps", type=int, default=8)
    parser.add_argument("--write-batch", type=int, default=None, help="default: the setting's")
    args = parser.parse_args()

    from rag.config import Settings

    write_batch = args.write_batch or Settings.model_fields["feed_write_batch"].default
    info = C.machine_info()
    spawn = multiprocessing.get_context("spawn")
    ready = spawn.Queue()
    site = spawn.Process(target=_serve, args=(args.articles, ready), daemon=True)
    site.start()
    base, page_bytes = ready.get(timeout=60)
    _one(base, args.articles, write_batch, raw_first=False)  # warm-up, not reported
    reps = [_one(base, args.articles, write_batch, raw_first=i % 2 == 1) for i in range(args.reps)]
    site.terminate()
    site.join()

    median = statistics.median(r["ratio"] for r in reps)
    rows = [
        [i, r["order"], r["ingested"], round(r["feed_s"], 2), r["chunks"], round(r["raw_s"], 2),
         round(r["ratio"], 2), r["repoll"]["status"], r["repoll"]["ingested"]]
        for i, r in enumerate(reps)
    ]  # fmt: skip
    markdown = "\n".join(
        [
            f"# Ingest from a feed ({NAME}.py)",
            "",
            *C.machine_lines(info),
            f"- {args.articles} MultiHop-RAG articles as HTML pages ({page_bytes:,} bytes) in "
            "one RSS feed, served on 127.0.0.1 by the test suite's server, in its own process",
            f"- {args.reps} repetitions, each in a fresh index, the order of the two runs "
            f"alternating; pages written {write_batch} at a time (`feed_write_batch`)",
            "",
            C.md_table(
                [
                    "rep",
                    "order",
                    "articles",
                    "feed s (fetch, extract, chunk, embed, write)",
                    "chunks",
                    "raw encoder s (same chunk texts)",
                    "ratio raw/feed",
                    "re-poll",
                    "re-poll ingested",
                ],
                rows,
            ),  # fmt: skip
            "",
            f"Feed ingest throughput / the raw encoder's, median of the paired ratios: "
            f"**{median:.2f}x** (goal >= 0.8x).",
        ]
    )
    print(markdown)
    C.write_results(NAME, markdown, {
        "machine": info, "articles": args.articles, "write_batch": write_batch,
        "median_ratio": median, "reps": reps,
    })  # fmt: skip


if __name__ == "__main__":
    main()
