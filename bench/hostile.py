"""One anonymous client sending requests of the largest size each route takes, and just over.

Run from the project root:

    .venv/bin/python bench/hostile.py [--requests 100]

A server on the seed index (extractive backend, default settings but the rate limit, lifted
so that every request reaches the route) gets `--requests` requests in turn from one client,
no key: a question of 2,000 characters and one of 1 MB, a follow-up whose earlier turns are at
their limits and over, a chat completion with a 7.9 MB message, a body over
NEWSDESK_MAX_BODY_BYTES sent whole and sent chunked, JSON nested 100,000 deep, invalid UTF-8,
and an unauthenticated write of 7.9 MB. The server's resident memory is sampled throughout.

Pass: every reply is an answer (200) or a named 4xx; the rejections' p95 is at most 2 s; the
server's peak memory grows by at most 200 MB over its memory once it has answered two ordinary
questions (the first answer loads what a server loads once: about 300 MB here).
Results: bench/results/hostile.md and .json.
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C  # noqa: E402
from servers import serve  # noqa: E402

NAME = "hostile"
MAX_BODY = 8_000_000  # NEWSDESK_MAX_BODY_BYTES's default
GOAL_RSS_MB, GOAL_P95_S = 200.0, 2.0
WARM_UP = (
    "Who invited Zelensky to Moscow?",
    "When did Russia invite Zelensky to Moscow? " * 45,  # near the 2,000-character limit
)


def requests() -> list[tuple[str, str, dict[str, Any]]]:
    """(label, path, httpx arguments): one of each kind, sent in turn."""
    word = "tram budget council "
    big = (word * (7_900_000 // len(word)))[:7_900_000]
    chunked_body = b'{"question": "' + b"x" * (MAX_BODY + 1000) + b'"}'
    return [
        ("question at the limit", "/v1/ask", {"json": {"question": (word * 100)[:1999] + "?"}}),
        ("question of 1 MB", "/v1/ask", {"json": {"question": big[:1_000_000]}}),
        (
            "follow-up, earlier turn of 7.9 MB",
            "/v1/ask",
            {"json": {"question": "what about it?", "history": [{"role": "user", "content": big}]}},
        ),  # fmt: skip
        (
            "chat completion of 7.9 MB",
            "/v1/chat/completions",
            {
                "json": {
                    "model": "extractive",
                    "messages": [
                        {"role": "user", "content": big},
                        {"role": "user", "content": "what about it?"},
                    ],
                }
            },
        ),  # fmt: skip
        ("search of 7.9 MB", "/v1/search", {"json": {"question": big}}),
        (
            "body over the limit",
            "/v1/ask",
            {"content": chunked_body, "headers": {"content-type": "application/json"}},
        ),
        (
            "body over the limit, chunked",
            "/v1/ask",
            {
                # A list, not bytes: httpx streams it without a length, and it can be sent again.
                "content": [
                    chunked_body[i : i + 65536] for i in range(0, len(chunked_body), 65536)
                ],
                "headers": {"content-type": "application/json"},
            },
        ),  # fmt: skip
        (
            "JSON 100,000 deep",
            "/v1/ask",
            {
                "content": b"[" * 100_000 + b"]" * 100_000,
                "headers": {"content-type": "application/json"},
            },
        ),  # fmt: skip
        (
            "invalid UTF-8",
            "/v1/ask",
            {
                "content": b'{"question": "\xff\xfe tram"}',
                "headers": {"content-type": "application/json"},
            },
        ),  # fmt: skip
        (
            "write without a key, 7.9 MB",
            "/v1/articles",
            {"json": {"articles": [{"title": "t", "body": big}]}},
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=100)
    args = parser.parse_args()
    info = C.machine_info()
    kinds = requests()
    rows: list[dict[str, Any]] = []
    with C.temp_index_dir(NAME) as tmp:
        C.ingest_with_cli(tmp, [C.ROOT / "seeds"])
        with serve(tmp, generator_backend="extractive", rate_limit="100000/minute") as server:
            started_mb = server.rss_mb()
            # The first answers load what a server loads once (the question parser, the lexical
            # index, the embedder's buffers): growth is counted from a server that has answered.
            for question in WARM_UP:
                httpx.post(f"{server.url}/v1/ask", json={"question": question}, timeout=120)
            start_mb = server.rss_mb()
            peak = [start_mb]
            done = threading.Event()

            def sample() -> None:
                while not done.is_set():
                    peak[0] = max(peak[0], server.rss_mb())
                    time.sleep(0.1)

            sampler = threading.Thread(target=sample, daemon=True)
            sampler.start()
            with httpx.Client(base_url=server.url, timeout=120) as client:
                for n in range(args.requests):
                    label, path, kwargs = kinds[n % len(kinds)]
                    started = time.perf_counter()
                    response = client.post(path, **kwargs)
                    seconds = time.perf_counter() - started
                    try:
                        error = response.json().get("error")
                    except (ValueError, AttributeError):
                        error = None
                    rows.append(
                        {"kind": label, "status": response.status_code, "error": error,
                         "seconds": seconds}
                    )  # fmt: skip
            done.set()
            sampler.join(5)
            alive = server.alive() and httpx.get(f"{server.url}/healthz").status_code == 200
    rejected = [r["seconds"] for r in rows if 400 <= r["status"] < 500]
    named = all((r["status"] == 200) or (400 <= r["status"] < 500 and r["error"]) for r in rows)
    growth = peak[0] - start_mb
    p95 = C.percentile(rejected, 95)
    passed = named and alive and growth <= GOAL_RSS_MB and p95 <= GOAL_P95_S
    by_kind: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        by_kind.setdefault(r["kind"], []).append(r)
    table = C.md_table(
        ["request", "n", "replies", "p50 s", "max s"],
        [
            [kind, len(of),
             ", ".join(f"{s} {e or ''}".strip() for (s, e), c in
                       Counter((r["status"], r["error"]) for r in of).items()),
             C.percentile([r["seconds"] for r in of], 50), max(r["seconds"] for r in of)]
            for kind, of in by_kind.items()
        ],
    )  # fmt: skip
    markdown = "\n".join(
        [
            f"# {NAME}: {len(rows)} hostile requests from one anonymous client",
            "",
            f"`.venv/bin/python bench/hostile.py --requests {args.requests}`, extractive backend, "
            "seed index.",
            "",
            table,
            "",
            f"- Every reply an answer or a named 4xx: {named}; server alive after: {alive}",
            f"- Rejections p95: {p95:.3f} s (goal <= {GOAL_P95_S} s)",
            f"- Server memory: {started_mb:.0f} MB once ready, {start_mb:.0f} MB after answering "
            f"{len(WARM_UP)} ordinary questions, peak {peak[0]:.0f} MB under the hostile requests: "
            f"growth {growth:.0f} MB (goal <= {GOAL_RSS_MB:.0f} MB)",
            f"- **{'PASS' if passed else 'FAIL'}**",
            "",
            *C.machine_lines(info),
        ]
    )
    C.write_results(
        NAME,
        markdown,
        {"machine": info, "rows": rows, "ready_mb": started_mb, "start_mb": start_mb,
         "peak_mb": peak[0], "passed": passed},
    )  # fmt: skip
    print(markdown)


if __name__ == "__main__":
    main()
