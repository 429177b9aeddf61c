"""Two API replicas on one Chroma server: how soon what is written through one is found and
cited through the other.

Run from the project root:

    .venv/bin/python bench/replicas.py [--trials 10]

A `chroma run` server on 127.0.0.1 holds the MultiHop-RAG corpus but its last `--trials`
articles; two `newsdesk serve` replicas (extractive backend, each with its own folder) serve
it. Each trial writes one held-back article through the first (`POST /v1/articles`) and then
asks the second, over and over, until its `/v1/search` finds the article and its `/v1/ask`
cites it. The peer baseline is the same write read back through the replica that wrote it.
Also: the second replica's search time just after a write it did not make (it catches up
first) against its idle search time. Results: bench/results/replicas.md and .json.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C  # noqa: E402
from servers import HOST, Server, chroma, serve  # noqa: E402

NAME = "replicas"
KEY = "bench-write-key"
HEADERS = {"X-API-Key": KEY}
FIELDS = ("id", "title", "body", "source", "url", "published_at", "author", "category")


def build(tmp: Path, rows: list[dict], port: int) -> None:
    """The index, built once as a deployment builds it: `newsdesk ingest` against the store."""
    path = tmp / "base.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    env = os.environ | {
        "NEWSDESK_INDEX_DIR": str(tmp / "builder"),
        "NEWSDESK_CHROMA_HOST": HOST,
        "NEWSDESK_CHROMA_PORT": str(port),
    }
    newsdesk = str(Path(sys.executable).parent / "newsdesk")
    subprocess.run(
        [newsdesk, "ingest", str(path), "--index", "news", "--json"],
        env=env, check=True, stdout=subprocess.DEVNULL,
    )  # fmt: skip


def search_finds(server: Server, question: str, article_id: str) -> bool:
    got = httpx.post(f"{server.url}/v1/search", json={"question": question, "k": 5}, timeout=60)
    return any(h["article_id"] == article_id for h in got.json()["hits"])


def ask_cites(server: Server, question: str, article_id: str) -> bool:
    got = httpx.post(f"{server.url}/v1/ask", json={"question": question}, timeout=120)
    if got.status_code != 200:
        raise RuntimeError(f"ask answered {got.status_code}: {got.text[:300]}")
    return any(c["article_id"] == article_id for c in got.json()["citations"])


def until(check: Any, limit_s: float = 30.0) -> float:
    """Seconds until `check()` holds (inf if it never does within the limit)."""
    started = time.perf_counter()
    while not check():
        if time.perf_counter() - started > limit_s:
            return float("inf")
        time.sleep(0.05)
    return time.perf_counter() - started


def search_ms(server: Server, question: str) -> float:
    started = time.perf_counter()
    httpx.post(f"{server.url}/v1/search", json={"question": question, "k": 5}, timeout=60)
    return (time.perf_counter() - started) * 1000


def trial(writer: Server, reader: Server, row: dict) -> dict[str, float]:
    # Its first sentence, as a reader quoting it would ask.
    question = row["body"].split("\n")[0].split(". ")[0][:300]
    started = time.perf_counter()
    wrote = httpx.post(
        f"{writer.url}/v1/articles", json={"articles": [row]}, headers=HEADERS, timeout=600
    )
    wrote.raise_for_status()
    write_s = time.perf_counter() - started
    first_search_ms = search_ms(reader, question)  # the catch-up happens in this one
    found_s = until(lambda: search_finds(reader, question, row["id"]))
    cited_s = until(lambda: ask_cites(reader, question, row["id"]))
    return {
        "write_s": write_s,
        "first_search_ms": first_search_ms,
        "idle_search_ms": search_ms(reader, question),
        "found_s": write_s + found_s,
        "cited_s": write_s + found_s + cited_s,
    }


def render(
    trials: int, base: int, other: list[dict], same: list[dict], info: dict[str, Any]
) -> str:
    def stats(runs: list[dict[str, float]], key: str) -> tuple[float, float]:
        values = [r[key] for r in runs if math.isfinite(r[key])]
        return C.percentile(values, 50), C.percentile(values, 95)

    table = []
    for key, label in (
        ("write_s", "the write returns (s)"),
        ("found_s", "write to found by search (s)"),
        ("cited_s", "write to cited by ask (s)"),
        ("first_search_ms", "first search after the write (ms)"),
        ("idle_search_ms", "search again (ms)"),
    ):
        (o50, o95), (s50, s95) = stats(other, key), stats(same, key)
        table.append([label, o50, o95, s50, s95, o50 / s50 if s50 else float("nan")])
    cited = [sum(math.isfinite(r["cited_s"]) for r in runs) for runs in (other, same)]
    after = [r["cited_s"] - r["write_s"] for r in other if math.isfinite(r["cited_s"])]
    return "\n".join(
        [
            f"# {NAME}",
            "",
            f"`.venv/bin/python bench/replicas.py --trials {trials}`: {base} articles on one "
            "`chroma run` server (built by `newsdesk ingest`), two `newsdesk serve` replicas "
            "(extractive), each trial one new article written through the first and read "
            "through the second (or, the peer baseline, through the first), asked its first "
            "sentence.",
            "",
            C.md_table(
                ["", "read on the other p50", "p95", "read on the writer p50", "p95", "ratio p50"],
                table,
            ),  # fmt: skip
            "",
            f"- Found by search: every trial. Cited by the extractive answer within 30 s: "
            f"{cited[0]}/{len(other)} read on the other, {cited[1]}/{len(same)} on the writer "
            "(the rest answered from other articles, on either replica alike; times above over "
            "those cited).",
            f"- Goal: write on one, answer on the other, p50 <= 2 s after the write returns: "
            f"{C.percentile(after, 50):.2f} s.",
            "",
            *C.machine_lines(info),
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--trials", type=int, default=10)
    parser.add_argument("--render", action="store_true", help="the saved results, again")
    args = parser.parse_args()
    if args.render:
        saved = json.loads((C.RESULTS / f"{NAME}.json").read_text())
        markdown = render(
            saved["trials"], saved["base"], saved["other"], saved["same"], saved["machine"]
        )
        (C.RESULTS / f"{NAME}.md").write_text(markdown + "\n")
        print(markdown)
        return
    info = C.machine_info()
    rows = [{k: r[k] for k in FIELDS if r.get(k)} for r in C.read_jsonl(C.ARTICLES)]
    base, arriving = rows[: -2 * args.trials], rows[-2 * args.trials :]
    with C.temp_index_dir("replicas") as tmp, chroma(tmp / "chroma") as (_, port):
        settings: dict[str, Any] = dict(
            chroma_host=HOST,
            chroma_port=port,
            default_index="news",
            generator_backend="extractive",
            write_keys=f'["{KEY}"]',
            rate_limit="100000/minute",
            cli=True,
        )
        for folder in ("one", "two"):
            (tmp / folder).mkdir()
        build(tmp, base, port)
        with serve(tmp / "one", **settings) as one, serve(tmp / "two", **settings) as two:
            for s in (one, two):
                search_ms(s, "warm up")
            other = [trial(one, two, r) for r in arriving[: args.trials]]
            same = [trial(one, one, r) for r in arriving[args.trials :]]

    markdown = render(args.trials, len(base), other, same, info)
    C.write_results(
        NAME,
        markdown,
        {"machine": info, "trials": args.trials, "base": len(base), "other": other, "same": same},
    )
    print(markdown)


if __name__ == "__main__":
    main()
