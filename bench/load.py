"""Load on POST /v1/ask: concurrent clients against a real server, with its memory over time.

Run from the project root:

    .venv/bin/python bench/load.py [--backend extractive] [--clients 32] [--duration 60]
    .venv/bin/python bench/load.py --backend llamacpp --clients 8 --duration 300 --warmup 60

A temporary index is built from seeds/ with `newsdesk ingest` (as `make index` does), then
`uvicorn api.main:create_app --factory` serves it on 127.0.0.1 (bench/servers.py), configured
by NEWSDESK_* variables. The rate limit is lifted (NEWSDESK_RATE_LIMIT, default 120/minute per
key or address): every client here shares one address, so the default would measure the
limiter, not the service. The generator queue keeps its defaults (1 slot, 4 waiting).

`--clients` httpx async clients on keep-alive connections ask the seed golden set's questions
(eval/sets/seed.jsonl) in turn for `--warmup` + `--duration` seconds; then no new request
starts, and those in flight are awaited (at most `--grace` seconds). A client told to retry
(429 or 503 with Retry-After) waits that long first, as a polite client does. Requests/s and
latency count the responses received in the measured window, after the warm-up. The server's
resident memory (with any children) is sampled every second: start, after warm-up, peak, end.

Pass: no connection error, no 5xx but 503 with Retry-After, no 429/503 without Retry-After,
the server alive and /healthz 200 after the run, and memory flat (end within 5% of after
warm-up). For the LLM, 429/503 with Retry-After are "told to retry", which is fine.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C  # noqa: E402
import httpx  # noqa: E402
import servers  # noqa: E402

NAME = "load"
SEED_SET = C.ROOT / "eval" / "sets" / "seed.jsonl"
RATE_LIMIT = "1000000/minute"
FLAT_GROWTH = 0.05  # memory is flat when it ends within 5% of its size after warm-up
TOLD_TO_RETRY = ("429 + Retry-After", "503 + Retry-After")


def outcome(response: httpx.Response) -> str:
    status = response.status_code
    if status == 200:
        return "200"
    if status in (429, 503):
        return f"{status} + Retry-After" if "retry-after" in response.headers else f"{status} bare"
    return f"{status} {response.json().get('error', '') if _is_json(response) else ''}".strip()


def _is_json(response: httpx.Response) -> bool:
    return response.headers.get("content-type", "").startswith("application/json")


@dataclass
class Run:
    """Every response: (start, end, outcome), times in seconds from the start of the load."""

    rows: list[tuple[float, float, str]] = field(default_factory=list)
    errors: Counter = field(default_factory=Counter)  # connection errors by exception type
    rss: list[tuple[float, float]] = field(default_factory=list)  # (seconds, MB)


async def client(
    n: int, http: httpx.AsyncClient, questions: list[str], t0: float, stop: float, run: Run
) -> None:
    i = n  # clients start at different questions
    while (start := time.perf_counter()) < stop:
        question = questions[i % len(questions)]
        i += 1
        try:
            response = await http.post("/v1/ask", json={"question": question})
        except httpx.TransportError as exc:
            end = time.perf_counter()
            run.rows.append((start - t0, end - t0, "connection error"))
            run.errors[type(exc).__name__] += 1
            await asyncio.sleep(0.5)
            continue
        end = time.perf_counter()
        kind = outcome(response)
        run.rows.append((start - t0, end - t0, kind))
        if kind in TOLD_TO_RETRY:
            wait = float(response.headers["retry-after"])
            await asyncio.sleep(max(0.0, min(wait, stop - time.perf_counter())))


async def sample_rss(server: servers.Server, t0: float, run: Run, done: asyncio.Event) -> None:
    while not done.is_set():
        run.rss.append((time.perf_counter() - t0, server.rss_mb()))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(done.wait(), 1.0)
    run.rss.append((time.perf_counter() - t0, server.rss_mb()))


async def drive(server: servers.Server, questions: list[str], args: argparse.Namespace) -> Run:
    run = Run()
    limits = httpx.Limits(max_connections=args.clients, max_keepalive_connections=args.clients)
    timeout = httpx.Timeout(args.timeout, connect=10.0)
    done = asyncio.Event()
    async with httpx.AsyncClient(base_url=server.url, limits=limits, timeout=timeout) as http:
        t0 = time.perf_counter()
        sampler = asyncio.create_task(sample_rss(server, t0, run, done))
        stop = t0 + args.warmup + args.duration
        tasks = [
            asyncio.create_task(client(n, http, questions, t0, stop, run))
            for n in range(args.clients)
        ]
        await asyncio.sleep(max(0.0, stop - time.perf_counter()))
        _, late = await asyncio.wait(tasks, timeout=args.grace)
        for task in late:  # still in flight after the grace period: given up on
            task.cancel()
        run.errors["given up after --grace"] += len(late)
        done.set()
        await sampler
    return run


def summarise(run: Run, args: argparse.Namespace) -> dict[str, Any]:
    opens, closes = args.warmup, args.warmup + args.duration
    window = [(s, e, k) for s, e, k in run.rows if opens <= e <= closes]
    ok_ms = [(e - s) * 1000 for s, e, k in window if k == "200"]
    all_ms = [(e - s) * 1000 for s, e, _ in window]
    after_warmup = next((mb for t, mb in run.rss if t >= opens), run.rss[-1][1])
    rss = {
        "start_mb": run.rss[0][1],
        "after_warmup_mb": after_warmup,
        "peak_mb": max(mb for _, mb in run.rss),
        "end_mb": run.rss[-1][1],
    }
    rss["growth_mb"] = rss["end_mb"] - after_warmup
    rss["growth"] = rss["growth_mb"] / after_warmup if after_warmup else float("nan")
    return {
        "window_s": args.duration,
        "responses": len(window),
        "requests_per_s": len(window) / args.duration,
        "ok_per_s": len(ok_ms) / args.duration,
        "latency_ok_ms": {q: C.percentile(ok_ms, q) for q in (50, 95, 99)},
        "latency_all_ms": {q: C.percentile(all_ms, q) for q in (50, 95, 99)},
        "outcomes_window": dict(Counter(k for _, _, k in window)),
        "outcomes_all": dict(Counter(k for _, _, k in run.rows)),
        "connection_errors": dict(run.errors),
        "rss": rss,
    }


def verdict(summary: dict[str, Any], alive: bool, healthz: int | None) -> list[tuple[str, bool]]:
    outcomes = summary["outcomes_all"]
    failed = {k: n for k, n in outcomes.items() if k != "200" and k not in TOLD_TO_RETRY}
    return [
        ("server still running after the run", alive),
        ("GET /healthz after the run is 200", healthz == 200),
        ("no errors (5xx but 503 + Retry-After, bare 429/503, other codes, connection)",
         not failed and not any(summary["connection_errors"].values())),
        (f"memory flat (end within {FLAT_GROWTH:.0%} of after warm-up)",
         summary["rss"]["growth"] <= FLAT_GROWTH),
    ]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["extractive", "llamacpp"], default="extractive")
    parser.add_argument("--clients", type=int, help="default: 32 (extractive), 8 (llamacpp)")
    parser.add_argument("--duration", type=float, default=60.0, help="measured seconds")
    parser.add_argument("--warmup", type=float, default=10.0, help="seconds before measuring")
    parser.add_argument("--grace", type=float, default=300.0, help="wait for in-flight requests")
    parser.add_argument("--timeout", type=float, default=600.0, help="per request, seconds")
    parser.add_argument("--profile", default="qwen1.5b", help="llamacpp model profile")
    args = parser.parse_args()
    args.clients = args.clients or (32 if args.backend == "extractive" else 8)

    info = C.machine_info()
    questions = [row["question"] for row in C.read_jsonl(SEED_SET)]
    settings = {"generator_backend": args.backend, "rate_limit": RATE_LIMIT}
    if args.backend == "llamacpp":
        settings["llm_profile"] = args.profile
    with C.temp_index_dir(NAME) as tmp:
        C.ingest_with_cli(tmp, [C.ROOT / "seeds"])
        started = time.perf_counter()
        with servers.serve(tmp, **settings) as server:
            ready_s = time.perf_counter() - started
            print(
                f"server ready at {server.url} in {ready_s:.1f}s; load for "
                f"{args.warmup:.0f}+{args.duration:.0f}s with {args.clients} clients",
                flush=True,
            )
            run = asyncio.run(drive(server, questions, args))
            alive = server.alive()
            try:
                healthz: int | None = httpx.get(f"{server.url}/healthz", timeout=10).status_code
            except httpx.HTTPError:
                healthz = None
            log_tail = "" if alive else server.log_tail()
            generator = server.ready["generator"]
            env = server.settings

    summary = summarise(run, args)
    checks = verdict(summary, alive, healthz)
    rss, ok_ms, all_ms = summary["rss"], summary["latency_ok_ms"], summary["latency_all_ms"]
    outcome_rows = [[k, summary["outcomes_window"].get(k, 0), n]
                    for k, n in sorted(summary["outcomes_all"].items())]  # fmt: skip
    outcome_rows += [[f"connection error: {k}", "-", n] for k, n in run.errors.items() if n]
    markdown = "\n".join(
        [
            f"# Load on POST /v1/ask ({NAME}.py)",
            "",
            *C.machine_lines(info),
            f"- Server: `uvicorn api.main:create_app --factory`, one process, index of seeds/; "
            f"backend {generator['backend']} (model {generator['model']}); ready in "
            f"{ready_s:.1f} s; generator slots/queue at their defaults",
            f"- Rate limit lifted: NEWSDESK_RATE_LIMIT={RATE_LIMIT} (default 120/minute per key "
            f"or address; all {args.clients} clients share 127.0.0.1)",
            f"- Load: {args.clients} async httpx clients, keep-alive, asking the "
            f"{len(questions)} seed questions in turn; {args.warmup:.0f} s warm-up, then "
            f"{args.duration:.0f} s measured; told to retry = wait Retry-After. Client and "
            "server share the machine's cores.",
            "",
            C.md_table(
                ["measure (measured window)", "value"],
                [
                    ["responses / s (all)", f"{summary['requests_per_s']:.1f}"],
                    ["200 OK / s", f"{summary['ok_per_s']:.1f}"],
                    ["latency of 200s p50 / p95 / p99 ms",
                     f"{ok_ms[50]:.0f} / {ok_ms[95]:.0f} / {ok_ms[99]:.0f}"],
                    ["latency of all p50 / p95 / p99 ms",
                     f"{all_ms[50]:.0f} / {all_ms[95]:.0f} / {all_ms[99]:.0f}"],
                ],
            ),
            "",
            C.md_table(["outcome", "in window", "whole run"], outcome_rows),
            "",
            C.md_table(
                ["server RSS MB", "start", "after warm-up", "peak", "end", "growth"],
                [["", f"{rss['start_mb']:.0f}", f"{rss['after_warmup_mb']:.0f}",
                  f"{rss['peak_mb']:.0f}", f"{rss['end_mb']:.0f}",
                  f"{rss['growth_mb']:+.0f} ({rss['growth']:+.1%})"]],
            ),
            "",
            *[f"- [{'x' if passed else ' '}] {what}" for what, passed in checks],
            f"\n**{'PASS' if all(p for _, p in checks) else 'FAIL'}**",
            *(["", "Server log (tail):", "```", log_tail, "```"] if log_tail else []),
        ]
    )  # fmt: skip
    print(markdown)
    C.write_results(
        f"{NAME}_{args.backend}",
        markdown,
        {
            "machine": info,
            "args": vars(args),
            "server_settings": env | {"NEWSDESK_INDEX_DIR": "<temporary>"},
            "generator": generator,
            "ready_s": ready_s,
            "summary": summary,
            "checks": {what: passed for what, passed in checks},
            "passed": all(p for _, p in checks),
            "rss_samples": run.rss,
        },
    )


if __name__ == "__main__":
    main()
