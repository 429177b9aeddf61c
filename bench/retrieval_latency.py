"""Retrieval latency of `Desk.search` at 10k and 100k chunks, per stage, with 1 and 2 threads.

Run from the project root:

    .venv/bin/python bench/retrieval_latency.py [--sizes 10000 100000] [--threads 1 2]

What is measured
  End-to-end `Desk.search(question, k=10)` (query embedding + Chroma dense search + BM25 +
  reciprocal rank fusion + building the hits), p50/p95/mean over >= 200 queries (the 136 dev
  questions of data/multihop-rag, cycled), after one warm-up search. The first (cold) search is
  reported on its own: it opens the lexical index and loads the HNSW index.
  Inside each timed search the three stages are timed by wrapping, on the instances only,
  `embedder.embed_query`, `index.dense_search` and `Snapshot.search` (BM25 in tantivy); "rest"
  is the end-to-end time minus the three (validation, fusion, `_hit` construction). One
  cProfile pass is added at the largest size.

The corpus is REPLICATED, not real news: embedding 100k chunks here takes hours, so
  1. the 326 articles are ingested once for real (`Desk.ingest_articles`, ~335 chunks);
  2. their chunks (text, metadata, vectors read back from Chroma) are copied with new article
     ids (`<id>.r<n>`), each copy's vectors perturbed by Gaussian noise (norm ~0.2, i.e. cosine
     ~0.98 to the original) and renormalised;
  3. the copies are written with `Index.upsert_chunks` in batches of 5000 up to N chunks.
  Texts are exact copies, so BM25 sees N/335 identical documents per real chunk: score
  distributions (ties) differ from a real corpus, costs per query are realistic.

Each (size, threads) cell runs in its own subprocess (`--measure`), so torch threads and the
peak RSS (ru_maxrss) belong to that cell alone; index builds also run in their own subprocess
(`--build`). Everything lives in a temp dir (Settings(index_dir=tmp)), never under indexes/.
Results: bench/results/retrieval_latency.md and .json.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import pstats
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C  # noqa: E402

NAME = "retrieval_latency"
BASE_INDEX = "base"
WRITE_BATCH = 5000
NOISE_NORM = 0.2
GOAL_P50_MS, GOAL_P95_MS = 25.0, 60.0


# --- step 1: the real chunks -----------------------------------------------------------------
def dump_base_chunks(tmp: Path) -> dict[str, Any]:
    """Ingest the 326 articles for real and save their chunks (with vectors) to base.json."""
    from rag.desk import Desk

    settings = C.make_settings(tmp)
    embedder, load_s = C.load_embedder(settings)
    desk = Desk(settings, embedder)
    report = desk.ingest_articles(C.load_corpus(), BASE_INDEX)
    saved = C.dump_chunks(desk.index(BASE_INDEX), tmp / "base.json")
    return {"chunks": saved, "ingest_s": report.seconds, "model_load_s": load_s}


# --- step 2: replicated indexes (subprocess) -------------------------------------------------
def replicas(base: list[dict], size: int, seed: int = 0):
    """Yield (id, vector, text, meta) for `size` chunks: the real ones, then perturbed copies."""
    import numpy as np

    rng = np.random.default_rng(seed)
    vectors = np.array([c["vector"] for c in base], dtype=np.float32)
    dim = vectors.shape[1]
    made, copy = 0, 0
    while made < size:
        if copy == 0:
            noisy = vectors
        else:
            noisy = vectors + rng.normal(0, NOISE_NORM / dim**0.5, vectors.shape).astype(np.float32)
            noisy /= np.linalg.norm(noisy, axis=1, keepdims=True)
        for chunk, vector in zip(base, noisy, strict=True):
            if made == size:
                return
            yield _copy_of(chunk, copy), vector.tolist(), chunk["text"], _meta_of(chunk, copy)
            made += 1
        copy += 1


def _copy_of(chunk: dict, copy: int) -> str:
    if copy == 0:
        return chunk["id"]
    article_id = chunk["meta"]["article_id"]
    return f"{article_id}.r{copy}" + chunk["id"][len(article_id) :]


def _meta_of(chunk: dict, copy: int) -> dict:
    if copy == 0:
        return chunk["meta"]
    return chunk["meta"] | {"article_id": f"{chunk['meta']['article_id']}.r{copy}"}


def build_index(tmp: Path, size: int) -> dict[str, Any]:
    """Write `size` replicated chunks with Index.upsert_chunks and publish them to the lexical
    index; runs in its own process."""
    from rag.store.embedding import MiniLM
    from rag.store.index import Index

    settings = C.make_settings(tmp)
    base = json.loads((tmp / "base.json").read_text())
    started = time.perf_counter()
    index = Index.open(settings, f"rep{size}", MiniLM.name, MiniLM.dim, create=True)
    batch: list[tuple] = []
    with index.writing():
        for record in replicas(base, size):
            batch.append(record)
            if len(batch) == WRITE_BATCH:
                _flush(index, batch)
                batch = []
        _flush(index, batch)
    seconds = time.perf_counter() - started
    return {
        "size": index.chunk_count(),
        "build_s": seconds,
        "chunks_per_s": size / seconds,
        "peak_rss_mb": C.peak_rss_mb(),
        "ru_maxrss_mb": C.ru_maxrss_mb(),
        "disk_mb": sum(f.stat().st_size for f in (tmp / f"rep{size}").rglob("*") if f.is_file())
        / 2**20,
        "load_average": C.load_average(),
    }


def _flush(index, batch: list[tuple]) -> None:
    from rag.types import ChunkRecord

    if batch:
        ids, vectors, texts, metas = zip(*batch, strict=True)
        index.upsert_chunks(ids, vectors, texts, metas)
        # Published as an ingest publishes them (no article records: these are copies).
        index.lexical.replace_articles(
            [], [ChunkRecord(*r) for r in zip(ids, texts, metas, strict=True)]
        )


# --- step 3: measuring (subprocess) ----------------------------------------------------------
class StageTimer:
    """Wraps a bound method on one instance and records how long each call took."""

    def __init__(self, owner: Any, attr: str) -> None:
        self.calls: list[float] = []
        inner = getattr(owner, attr)

        def timed(*args, **kwargs):
            started = time.perf_counter()
            try:
                return inner(*args, **kwargs)
            finally:
                self.calls.append(time.perf_counter() - started)

        setattr(owner, attr, timed)

    def take(self) -> float:
        total = sum(self.calls)
        self.calls.clear()
        return total


def queries(count: int) -> list[str]:
    texts = [q["question"] for q in C.load_questions()]
    return [texts[i % len(texts)] for i in range(count)]


def measure(tmp: Path, size: int, threads: int, count: int, profile: bool) -> dict[str, Any]:
    import torch

    from rag.desk import Desk
    from rag.store.lexical import Snapshot

    settings = C.make_settings(tmp, embed_threads=threads, default_index=f"rep{size}")
    desk = Desk(settings)
    started = time.perf_counter()
    retriever = desk.retriever()
    open_s = time.perf_counter() - started
    started = time.perf_counter()
    desk.search("warm-up: who won the game?", k=10)  # opens the lexical index, loads HNSW
    cold_s = time.perf_counter() - started

    stages = {
        "embed": StageTimer(retriever.embedder, "embed_query"),
        "dense": StageTimer(retriever.index, "dense_search"),
        "bm25": StageTimer(Snapshot, "search"),
    }
    rows = []
    for question in queries(count):
        cpu = time.process_time()
        started = time.perf_counter()
        desk.search(question, k=10)
        total = time.perf_counter() - started
        row = {"total": total, "cpu": time.process_time() - cpu}
        row |= {name: timer.take() for name, timer in stages.items()}
        row["rest"] = total - row["embed"] - row["dense"] - row["bm25"]
        rows.append(row)
    result = {
        "size": size,
        "threads": threads,
        "torch_threads": torch.get_num_threads(),
        "queries": count,
        "open_s": open_s,
        "cold_first_search_s": cold_s,
        "ms": {
            stage: summarize([r[stage] * 1000 for r in rows])
            for stage in ("total", "cpu", "embed", "dense", "bm25", "rest")
        },
        "peak_rss_mb": C.peak_rss_mb(),
        "ru_maxrss_mb": C.ru_maxrss_mb(),
        "load_average": C.load_average(),
    }
    if profile:
        result["profile"] = profile_searches(desk, queries(100))
        result["cold_breakdown_s"] = cold_breakdown(retriever)
    return result


def summarize(values_ms: list[float]) -> dict[str, float]:
    return {
        "p50": C.percentile(values_ms, 50),
        "p95": C.percentile(values_ms, 95),
        "mean": sum(values_ms) / len(values_ms),
        "max": max(values_ms),
    }


def cold_breakdown(retriever) -> dict[str, float]:
    """What a lexical index that lags costs once: reading all chunks, rebuilding it."""
    import tempfile

    from rag.store.lexical import LexicalIndex

    started = time.perf_counter()
    records = retriever.index.all_chunks()
    read_s = time.perf_counter() - started
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        LexicalIndex(Path(tmp)).rebuild(lambda: records, 0)
        return {"all_chunks_s": read_s, "build_lexical_s": time.perf_counter() - started}


def profile_searches(desk, texts: list[str], top: int = 25) -> str:
    profiler = cProfile.Profile()
    profiler.enable()
    for text in texts:
        desk.search(text, k=10)
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out).strip_dirs().sort_stats("tottime")
    stats.print_stats(top)
    return out.getvalue()


# --- orchestration ---------------------------------------------------------------------------
def run_child(args: list[str]) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, __file__, *args], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"{args} failed:\n{done.stderr[-4000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main_orchestrate(args: argparse.Namespace) -> dict[str, Any]:
    info = C.machine_info()
    data: dict[str, Any] = {"machine": info, "builds": {}, "cells": []}
    with C.temp_index_dir(NAME) as tmp:
        print(f"[{C.load_average()}] ingesting the real corpus ...", flush=True)
        data["base"] = dump_base_chunks(tmp)
        for size in args.sizes:
            print(
                f"[{C.load_average()}] building replicated index of {size} chunks ...", flush=True
            )
            data["builds"][size] = run_child(["--build", str(tmp), str(size)])
            print(f"    {data['builds'][size]}", flush=True)
            for threads in args.threads:
                profile = size == max(args.sizes) and threads == min(args.threads)
                cell_args = ["--measure", str(tmp), str(size), str(threads), str(args.queries)]
                print(
                    f"[{C.load_average()}] measuring {size} chunks, {threads} thread(s)", flush=True
                )
                cell = run_child(cell_args + (["--profile"] if profile else []))
                data["cells"].append(cell)
                print(f"    total {fmt_stage(cell['ms']['total'])}", flush=True)
        C.forget_chroma_clients()
    info["load_average_end"] = C.load_average()
    return data


def fmt_stage(s: dict[str, float]) -> str:
    return f"p50 {s['p50']:.1f} / p95 {s['p95']:.1f} ms"


# --- report ----------------------------------------------------------------------------------
def render(data: dict[str, Any]) -> str:
    out = [f"# Retrieval latency ({NAME}.py)", "", *C.machine_lines(data["machine"]), ""]
    base = data["base"]
    out += [
        "**The 10k/100k corpora are REPLICATED**: the "
        f"{base['chunks']} real chunks of the 326 MultiHop-RAG articles, copied with new article "
        f"ids and vectors perturbed (noise norm {NOISE_NORM}, renormalised), written with "
        "`Index.upsert_chunks`. Texts are exact copies (BM25 ties are unrealistic; costs are "
        "realistic). Queries: the 136 dev questions cycled; k=10, default candidates=50.",
        "",
        f"Real ingest of the base corpus: {base['ingest_s']:.1f} s for {base['chunks']} chunks "
        f"(model load {base['model_load_s']:.1f} s).",
        "",
        "## Index builds",
        "",
        C.md_table(
            [
                "chunks",
                "build s",
                "chunks/s",
                "peak RSS MB (VmHWM)",
                "ru_maxrss MB",
                "disk MB",
                "load avg",
            ],
            [
                [
                    b["size"],
                    round(b["build_s"], 1),
                    round(b["chunks_per_s"]),
                    round(b["peak_rss_mb"]),
                    round(b.get("ru_maxrss_mb", 0)),
                    round(b["disk_mb"]),
                    b["load_average"],
                ]
                for b in data["builds"].values()
            ],
        ),
        "",
        "## Desk.search latency (ms)",
        "",
        C.md_table(
            [
                "chunks",
                "threads",
                "total p50",
                "total p95",
                "CPU ms p50",
                "embed p50/p95",
                "dense p50/p95",
                "bm25 p50/p95",
                "rest p50/p95",
                "cold 1st search s",
                "peak RSS MB (VmHWM / ru_maxrss)",
                "load avg",
                "goal (p50<=25, p95<=60)",
            ],
            [latency_row(c) for c in data["cells"]],
        ),
        "",
        "`rest` = end-to-end minus the three stages: question check, RRF fusion, building hits. "
        "`CPU ms` = process CPU time per search (all threads): what the search costs on an idle "
        "machine; wall >> CPU means waiting for a core (other users' load).",
        "Peak RSS: VmHWM is the process's own peak; ru_maxrss (as asked) is shown too, but Linux "
        "carries the parent's peak over fork+exec, so in these subprocesses it can be the "
        "orchestrator's peak (~model + base ingest).",
        "`cold 1st search` = first search after opening: opens the lexical index (tantivy) "
        "and loads HNSW. Writes no longer rebuild anything (bench/lexical_backends.py).",
        "",
    ]
    profiled = [c for c in data["cells"] if "profile" in c]
    for cell in profiled:
        cold = cell["cold_breakdown_s"]
        out += [
            f"## Cold first search at {cell['size']} chunks, broken down",
            "",
            f"`Index.all_chunks()` (paged `get`, offset pagination): {cold['all_chunks_s']:.1f} s; "
            f"a full lexical rebuild from them (tokenise + tantivy): "
            f"{cold['build_lexical_s']:.1f} s. Paid once, by an index whose lexical half lags "
            "(built before it existed); writes update it in place.",
            "",
        ]
        out += [
            f"## cProfile: 100 searches, {cell['size']} chunks, {cell['threads']} thread(s), "
            "top functions by own time",
            "",
            "```",
            trim_profile(cell["profile"]),
            "```",
            "",
        ]
    out += verdict(data)
    return "\n".join(out)


def latency_row(c: dict[str, Any]) -> list[Any]:
    ms = c["ms"]

    def pair(stage: str) -> str:
        return f"{ms[stage]['p50']:.1f} / {ms[stage]['p95']:.1f}"

    met = ms["total"]["p50"] <= GOAL_P50_MS and ms["total"]["p95"] <= GOAL_P95_MS
    return [
        c["size"],
        c["threads"],
        round(ms["total"]["p50"], 1),
        round(ms["total"]["p95"], 1),
        round(ms["cpu"]["p50"], 1),
        pair("embed"),
        pair("dense"),
        pair("bm25"),
        pair("rest"),
        round(c["cold_first_search_s"], 2),
        f"{c['peak_rss_mb']:.0f} / {c['ru_maxrss_mb']:.0f}",
        c["load_average"],
        "met" if met else "MISSED",
    ]


def trim_profile(text: str) -> str:
    lines = text.strip().splitlines()
    start = next((i for i, line in enumerate(lines) if "ncalls" in line), 0)
    return "\n".join(lines[max(start - 3, 0) :])


def verdict(data: dict[str, Any]) -> list[str]:
    lines = ["## Verdict", ""]
    for cell in data["cells"]:
        ms = cell["ms"]
        stages = {s: ms[s]["p50"] for s in ("embed", "dense", "bm25", "rest")}
        worst = max(stages, key=stages.get)
        ok = ms["total"]["p50"] <= GOAL_P50_MS and ms["total"]["p95"] <= GOAL_P95_MS
        lines.append(
            f"- {cell['size']} chunks, {cell['threads']} thread(s): "
            f"p50 {ms['total']['p50']:.1f} ms, "
            f"p95 {ms['total']['p95']:.1f} ms -> {'goal met' if ok else 'goal MISSED'}; "
            f"largest stage at p50: {worst} ({stages[worst]:.1f} ms)"
        )
    return lines


# --- entry points ------------------------------------------------------------------------------
def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--queries", type=int, default=272, help="timed searches per cell (>=200)")
    parser.add_argument("--build", nargs=2, metavar=("DIR", "SIZE"), help=argparse.SUPPRESS)
    parser.add_argument(
        "--measure", nargs=4, metavar=("DIR", "SIZE", "THREADS", "N"), help=argparse.SUPPRESS
    )
    parser.add_argument("--profile", action="store_true", help=argparse.SUPPRESS)
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    if args.build:  # child: build one replicated index, print JSON
        print(json.dumps(build_index(Path(args.build[0]), int(args.build[1]))))
        return
    if args.measure:  # child: measure one (size, threads) cell, print JSON
        tmp, size, threads, count = args.measure
        print(json.dumps(measure(Path(tmp), int(size), int(threads), int(count), args.profile)))
        return
    data = main_orchestrate(args)
    markdown = render(data)
    print(markdown)
    md_path, json_path = C.write_results(NAME, markdown, data)
    print(f"\nwritten: {md_path.relative_to(C.ROOT)}, {json_path.relative_to(C.ROOT)}")


if __name__ == "__main__":
    main()
