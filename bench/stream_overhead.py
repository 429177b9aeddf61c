"""Streaming overhead: the first `token` event over HTTP vs the pipeline's own first token.

Run from the project root:

    .venv/bin/python bench/stream_overhead.py [--backend extractive] [--reps 5]
    .venv/bin/python bench/stream_overhead.py --backend llamacpp --reps 1

Goal: from sending POST /v1/ask/stream to receiving the first `token` event, a client waits the
pipeline's own time to first token plus at most 50 ms.

A real server (bench/servers.py: uvicorn on 127.0.0.1, index of seeds/, rate limit lifted) is
asked the seed questions one at a time on a keep-alive connection. Client TTFT is from sending
the request to having read the first `token` event. The `done` event's answer carries the
pipeline's timings (rag/answering/answer.py), both from the pipeline's start:

  * `ttft_ms`: the pipeline yields its first `token` event (the first answer text);
  * `first_output_ms`: the generator's first output. With a model, the answer is JSON, so the
    first text comes a few decoded tokens later (`{"sentences": [{"text": "`).

Overhead = client TTFT - ttft_ms, within one request: what HTTP costs (validation, the route's
checks, the SSE route's thread hops, the socket). The JSON opening is reported beside it.
Answers without a `token` event (abstentions) are counted and left out. Results go to
bench/results/stream_overhead_<backend>.{md,json}.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C  # noqa: E402
import httpx  # noqa: E402
import servers  # noqa: E402

NAME = "stream_overhead"
SEED_SET = C.ROOT / "eval" / "sets" / "seed.jsonl"
GOAL_MS = 50.0


def over_http(http: httpx.Client, question: str) -> tuple[float | None, dict[str, float]]:
    """(ms from sending to the first `token` event read, the pipeline's timings)."""
    started = time.perf_counter()
    first = None
    timings: dict[str, float] = {}
    event = ""
    with http.stream("POST", "/v1/ask/stream", json={"question": question}) as response:
        if response.status_code != 200:
            raise RuntimeError(f"{response.status_code}: {response.read().decode()[:300]}")
        for line in response.iter_lines():
            if line.startswith("event: "):
                event = line[7:]
            elif line.startswith("data: "):
                if event == "token" and first is None:
                    first = (time.perf_counter() - started) * 1000
                elif event == "done":
                    timings = json.loads(line[6:])["answer"]["timings"]
                elif event == "error":
                    raise RuntimeError(f"the stream failed: {line[6:]}")
    return first, timings


def measure(ask: Any, questions: list[dict], reps: int) -> dict[tuple[str, int], tuple]:
    ask(questions[0]["question"])  # untimed: first-request costs (caches, lazy imports)
    times = {}
    for rep in range(reps):
        for item in questions:
            times[(item["id"], rep)] = ask(item["question"])
    return times


def stats(values: list[float]) -> list[Any]:
    if not values:
        return [0, "-", "-", "-"]
    p50, p95 = C.percentile(values, 50), C.percentile(values, 95)
    return [len(values), f"{p50:.1f}", f"{p95:.1f}", f"{max(values):.1f}"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["extractive", "llamacpp"], default="extractive")
    parser.add_argument("--reps", type=int, help="passes over the questions; 5 or 1 (llamacpp)")
    parser.add_argument("--questions", type=int, default=0, help="first N seed questions; 0: all")
    parser.add_argument("--profile", default="qwen1.5b", help="llamacpp model profile")
    args = parser.parse_args()
    reps = args.reps or (5 if args.backend == "extractive" else 1)
    name = f"{NAME}_{args.backend}"

    info = C.machine_info()
    questions = C.read_jsonl(SEED_SET)[: args.questions or None]
    settings: dict[str, Any] = {"generator_backend": args.backend, "rate_limit": "1000000/minute"}
    if args.backend == "llamacpp":
        settings["llm_profile"] = args.profile
    with C.temp_index_dir(NAME) as tmp:
        C.ingest_with_cli(tmp, [C.ROOT / "seeds"])
        with (
            servers.serve(tmp, **settings) as server,
            httpx.Client(base_url=server.url, timeout=600) as http,
        ):
            print(f"server ready at {server.url}; {len(questions)} questions x {reps}", flush=True)
            times = measure(lambda q: over_http(http, q), questions, reps)
            generator = server.ready["generator"]

    rows = []
    for (qid, rep), (client, timings) in times.items():
        ttft, output = timings.get("ttft_ms"), timings.get("first_output_ms")
        row: dict[str, Any] = {"id": qid, "rep": rep, "client_ttft_ms": client}
        row |= {"pipeline_ttft_ms": ttft, "first_output_ms": output}
        row["overhead_ms"] = client - ttft if client is not None and ttft is not None else None
        both = None not in (client, ttft, output)
        row["json_opening_ms"] = ttft - output if both else None
        row["after_first_output_ms"] = client - output if both else None
        rows.append(row)

    def column(key: str) -> list[float]:
        return [r[key] for r in rows if r.get(key) is not None]

    overhead = column("overhead_ms")
    met = bool(overhead) and C.percentile(overhead, 95) <= GOAL_MS
    skipped = sum(r["client_ttft_ms"] is None for r in rows)
    table = C.md_table(
        ["measure", "n", "p50 ms", "p95 ms", "max ms"],
        [
            ["over HTTP: send -> first `token` event", *stats(column("client_ttft_ms"))],
            ["pipeline: first `token` event (ttft_ms)", *stats(column("pipeline_ttft_ms"))],
            ["**overhead = client - pipeline ttft_ms**", *stats(overhead)],
            ["pipeline: generator's first output", *stats(column("first_output_ms"))],
            ["JSON opening (ttft_ms - first output)", *stats(column("json_opening_ms"))],
            ["client - generator's first output", *stats(column("after_first_output_ms"))],
        ],
    )
    markdown = "\n".join(
        [
            f"# Streaming overhead ({NAME}.py, {args.backend})",
            "",
            *C.machine_lines(info),
            f"- Server: `uvicorn api.main:create_app --factory`, index of seeds/, backend "
            f"{generator['backend']} (model {generator['model']}); one request at a time on a "
            f"keep-alive connection; {len(questions)} seed questions x {reps} passes "
            f"(after one untimed request); {skipped} answers had no `token` event (abstained)",
            "",
            table,
            "",
            f"Goal: overhead p95 <= {GOAL_MS:.0f} ms: **{'met' if met else 'not met'}**.",
        ]
    )
    print(markdown)
    C.write_results(
        name,
        markdown,
        {
            "machine": info,
            "args": vars(args) | {"reps": reps},
            "generator": generator,
            "goal_ms": GOAL_MS,
            "goal_met": met,
            "rows": rows,
        },
    )


if __name__ == "__main__":
    main()
