"""Live news at 100k chunks: a feed item to a cited answer, a 10-article write, and searches
while news flows in.

Run from the project root:

    .venv/bin/python bench/live_ingest.py [--size 100000] [--trials 10]
    .venv/bin/python bench/live_ingest.py --render   # the saved results as markdown again

The index is REPLICATED, as in bench/retrieval_latency.py: 286 of the 326 MultiHop-RAG
articles are ingested for real, their chunks copied under new ids (vectors perturbed) up to
`--size` chunks and published to the lexical index. The other 40 articles are the news that
arrives: none of their text is in the index yet. In one process, as the service runs:

  1. today's full rebuild: what every write cost before the lexical index was incremental
     (read every chunk from Chroma, tokenise, build bm25s), measured here on this index;
  2. a 10-article write: `Desk.ingest_articles` of 10 new articles (embedding included), and
     the part of it spent publishing to the lexical index;
  3. search p50/p95 idle, then while a thread ingests one new article a second;
  4. freshness: a local HTTP server on 127.0.0.1 serves an RSS feed; the watcher polls it every
     second (`rag.feeds.watch`, as `newsdesk watch` does); a new item is added to the feed and
     the clock runs until `Desk.answer` (extractive), asked the item's first sentence as a
     question, cites that item's page.
Results: bench/results/live_ingest.md and .json.
"""

from __future__ import annotations

import argparse
import http.server
import json
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C  # noqa: E402

NAME = "live_ingest"
HELD_OUT = 40


def base_json(tmp: Path, articles: list, embedder) -> int:
    """Ingest the base articles for real and save their chunks for replication."""
    from rag.desk import Desk

    desk = Desk(C.make_settings(tmp), embedder)
    desk.ingest_articles(articles, "base")
    return C.dump_chunks(desk.index("base"), tmp / "base.json")


def pct(values: list[float], p: float) -> float:
    return C.percentile(values, p)


def full_rebuild_s(index) -> float:
    """The old per-write cost: every chunk read and a bm25s index built over them."""
    import bm25s
    import Stemmer

    from rag.store.lexical import lexical_text

    started = time.perf_counter()
    records = index.all_chunks()
    corpus = bm25s.tokenize(
        [lexical_text(r.meta["title"], r.meta.get("source"), r.text) for r in records],
        stopwords="en",
        stemmer=Stemmer.Stemmer("english"),
        show_progress=False,
    )
    bm25s.BM25().index(corpus, show_progress=False)
    return time.perf_counter() - started


def searches(desk, questions: list[str], until: threading.Event | None, count: int) -> list[float]:
    times = []
    i = 0
    while (until is None and i < count) or (until is not None and not until.is_set()):
        started = time.perf_counter()
        desk.search(questions[i % len(questions)], k=10)
        times.append((time.perf_counter() - started) * 1000)
        i += 1
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--trials", type=int, default=10)
    args = parser.parse_args()

    from retrieval_latency import build_index

    from rag.desk import Desk
    from rag.feeds import article_id_for, store_for, watch
    from rag.ingestion.ingest import ingest as raw_ingest
    from rag.ingestion.sentences import split_sentences
    from tests.test_feeds import Site, handler_for, page_html, rfc822, rss

    info = C.machine_info()
    corpus = C.load_corpus()
    base, arriving = corpus[:-HELD_OUT], corpus[-HELD_OUT:]
    questions = [q["question"] for q in C.load_questions()]
    out: dict[str, Any] = {"machine": info, "size": args.size}
    with C.temp_index_dir(NAME) as tmp:
        embedder, _ = C.load_embedder(C.make_settings(tmp))
        print("base ingest ...", flush=True)
        out["base_chunks"] = base_json(tmp, base, embedder)
        print("replicating ...", flush=True)
        out["build"] = build_index(tmp, args.size)
        name = f"rep{args.size}"
        settings = C.make_settings(
            tmp,
            default_index=name,
            generator_backend="extractive",
            fetch_allow_networks=["127.0.0.0/8"],
            fetch_host_delay_s=0,
            feed_interval_s=1.0,
        )
        desk = Desk(settings, embedder)
        index = desk.index(name)
        desk.search("warm-up", k=10)
        out["chunks"] = index.chunk_count()

        print("1. full rebuild ...", flush=True)
        out["full_rebuild_s"] = full_rebuild_s(index)

        print("2. 10-article write ...", flush=True)
        publish_s: list[float] = []
        publish = index.publish_chunks

        def timed_publish(*a: Any, **k: Any) -> None:
            started = time.perf_counter()
            publish(*a, **k)
            publish_s.append(time.perf_counter() - started)

        index.publish_chunks = timed_publish  # type: ignore[method-assign]
        ten = arriving[:10]
        started = time.perf_counter()
        report = desk.ingest_articles(ten, name)
        out["write_10"] = {
            "total_s": time.perf_counter() - started,
            "lexical_s": sum(publish_s),
            "chunks": report.chunks_written,
        }
        index.publish_chunks = publish  # type: ignore[method-assign]

        print("3. searches idle and during ingestion ...", flush=True)
        idle = searches(desk, questions, None, 200)
        stream = arriving[10:25]
        done = threading.Event()
        written: list[float] = []

        def writer() -> None:
            for article in stream:
                started = time.perf_counter()
                raw_ingest([article], index, embedder, settings)
                written.append(time.perf_counter() - started)
                time.sleep(max(0.0, 1.0 - (time.perf_counter() - started)))
            done.set()

        thread = threading.Thread(target=writer)
        thread.start()
        busy = searches(desk, questions, done, 0)
        thread.join()
        out["search"] = {
            "idle": {"p50": pct(idle, 50), "p95": pct(idle, 95), "n": len(idle)},
            "ingesting": {"p50": pct(busy, 50), "p95": pct(busy, 95), "n": len(busy)},
            "articles_written": len(written),
            "write_p50_s": pct(written, 50),
        }

        print("4. freshness ...", flush=True)
        site = Site()
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler_for(site))
        host = f"http://127.0.0.1:{server.server_address[1]}"
        threading.Thread(target=server.serve_forever, daemon=True).start()
        items: list[tuple[str, str, str]] = []
        site.put("/feed.xml", rss(items), "application/rss+xml")
        store_for(settings).add(f"{host}/feed.xml", name)
        stop = threading.Event()
        watcher = threading.Thread(target=watch, args=(settings, desk.ingest_articles, name, stop))
        watcher.start()
        fresh: list[float | None] = []
        for n, article in enumerate(arriving[25 : 25 + args.trials]):
            # published now, as a new item is ("this year" in a question includes it)
            row = {"title": article.title, "body": article.body,
                   "published_at": datetime.now(UTC).isoformat()}  # fmt: skip
            link = f"{host}/news/{n}.html"
            site.put(f"/news/{n}.html", page_html(row))
            items.insert(0, (article.title, link, rfc822(row["published_at"])))
            started = time.perf_counter()
            site.put("/feed.xml", rss(items), "application/rss+xml")
            wanted = article_id_for(link)
            # Asked in the words of its first sentence: the copies in the index are many and
            # alike, so a headline alone may be answered from older news on the same topic.
            question = split_sentences(article.id, article.body)[0].text
            seconds = None
            while time.perf_counter() - started < 60:
                answer = desk.answer(question, index=name)
                if any(c.article_id == wanted for c in answer.citations):
                    seconds = time.perf_counter() - started
                    break
                time.sleep(0.1)
            fresh.append(seconds)
            print(f"   item {n}: {seconds}", flush=True)
        stop.set()
        watcher.join(30)
        server.shutdown()
        out["freshness_s"] = fresh
        desk.close()
        C.forget_chroma_clients()

    out["held_out"] = HELD_OUT
    out["base_articles"] = len(base)
    C.write_results(NAME, render(out), out)
    print(render(out))


def render(out: dict[str, Any]) -> str:
    fresh = out["freshness_s"]
    info = out["machine"]
    # A miss (not cited within 60 s) counts as never: it sorts after every hit.
    ranked = sorted(float("inf") if x is None else x for x in fresh)
    cited = [x for x in fresh if x is not None]
    median = C.percentile(ranked, 50) if ranked else float("nan")
    w = out["write_10"]
    s = out["search"]
    rows = [
        ["today's full rebuild (all chunks read, bm25s built)", f"{out['full_rebuild_s']:.2f} s",
         "1.00x", ""],
        ["10-article write, lexical part (tantivy commit)", f"{w['lexical_s'] * 1000:.0f} ms",
         f"{w['lexical_s'] / out['full_rebuild_s']:.4f}x", "<= 0.05x"],
        [f"10-article write, whole ingest ({w['chunks']} chunks embedded and written)",
         f"{w['total_s']:.2f} s", f"{w['total_s'] / out['full_rebuild_s']:.3f}x", "<= 0.05x"],
        ["search p95 idle", f"{s['idle']['p95']:.1f} ms", "1.00x", ""],
        [f"search p95 while 1 article/s is ingested ({s['articles_written']} written)",
         f"{s['ingesting']['p95']:.1f} ms", f"{s['ingesting']['p95'] / s['idle']['p95']:.2f}x",
         "<= 2x"],
        [f"feed item to an answer citing it, p50 of {len(fresh)} ({len(cited)} cited "
         "within 60 s, a miss counted as never)", f"{median:.2f} s", "", "<= 5 s"],
    ]  # fmt: skip
    markdown = "\n".join(
        [
            f"# Live ingest at {out['chunks']:,} chunks ({NAME}.py)",
            "",
            *C.machine_lines(info),
            f"- Index: {out['base_chunks']} real chunks of {out['base_articles']} articles "
            f"replicated to {out['chunks']:,} chunks (not real news: copies with perturbed "
            f"vectors); the {out['held_out']} other articles are the news that arrives.",
            "",
            C.md_table(["measure", "value", "ratio", "goal"], rows),
            "",
            f"Search p50 idle {s['idle']['p50']:.1f} ms, while ingesting "
            f"{s['ingesting']['p50']:.1f} ms; one article's ingest p50 {s['write_p50_s']:.2f} s. "
            "Freshness per item (s): "
            + ", ".join("-" if x is None else f"{x:.2f}" for x in fresh)
            + ". The watcher polls every 1 s; an answer is asked every 0.1 s after the item "
            "appears.",
        ]
    )
    return markdown


def main_or_render() -> None:
    if sys.argv[1:] == ["--render"]:  # the saved results, rendered again
        out = json.loads((C.RESULTS / f"{NAME}.json").read_text())
        C.write_results(NAME, render(out), out)
        print(render(out))
    else:
        main()


if __name__ == "__main__":
    main_or_render()
