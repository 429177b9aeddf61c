"""Time to first token and decode speed of the llamacpp generator, per packaged model profile.

Run from the project root:

    .venv/bin/python bench/generator_ttft.py [--profiles qwen0.5b,qwen1.5b] [--reps 3]

For each profile the generator is built once (joining the model parts if the cache lacks them;
that time is reported as load time, never counted in a request), one untimed request warms it
up, and then, on a fixed RAG-shaped prompt of about 400 tokens (news excerpts from
`data/multihop-rag/articles.jsonl` plus a question):

- cold: a new nonce at the very start of the system message, so no prefix of the prompt is in
  llama.cpp's cache and every prompt token is read;
- repeated prefix: the same system message and excerpts as the request before, only the
  question changes, so `cache_prompt` lets llama.cpp skip the shared prefix.

TTFT is measured by the caller (request start to first non-empty text delta); tokens/s is
llama.cpp's own count of generated tokens over the time from first to last delta. Medians of
`--reps` requests are printed with the best value, and written to
`bench/results/generator_ttft.{md,json}`. The machine has 2 cores that may be shared: the
load average at start and end is printed; compare within one run.
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import sys
import time
from importlib.metadata import version
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import httpx  # noqa: E402
from _common import (  # noqa: E402  (sets HF_HUB_OFFLINE / TRANSFORMERS_OFFLINE first)
    ARTICLES,
    cpu_model,
    load_average,
    md_table,
    read_jsonl,
    write_results,
)

from rag.generators.base import GenerationRequest  # noqa: E402
from rag.generators.llamacpp import LlamaCppGenerator  # noqa: E402
from rag.models import PROFILES  # noqa: E402

SYSTEM = (
    "You answer questions about news articles. Use only the numbered excerpts below and cite "
    "them like [1]. If they do not contain the answer, say so."
)
QUESTIONS = [
    "What happened between Taylor Swift and the NFL, according to the excerpts?",
    "Which people and organisations do the excerpts mention, and in what roles?",
    "Summarise the excerpts in five detailed sentences, with citations.",
    "What dates and places appear in the excerpts, and what happened there?",
    "Which claims in the excerpts come from named sources, and who are they?",
]
CONTEXT_CHARS = 1650  # about 360 tokens of excerpts: with the template and question ~400


def build_context() -> str:
    """Numbered excerpts from the first corpus articles, cut at a fixed size (deterministic)."""
    parts, size = [], 0
    for number, article in enumerate(read_jsonl(ARTICLES), start=1):
        body = " ".join(article["body"].split())
        text = f"[{number}] {article['title']} ({article['source']}): {body}"
        parts.append(text[: CONTEXT_CHARS - size])
        size += len(parts[-1])
        if size >= CONTEXT_CHARS:
            break
    return "\n".join(parts)


def messages(context: str, question: str, nonce: str = "") -> list[dict[str, str]]:
    # The nonce goes first: it makes the whole prompt new to the cache, at ~10 tokens' cost.
    prefix = f"Request {nonce}. " if nonce else ""
    return [
        {"role": "system", "content": f"{prefix}{SYSTEM}\n\n{context}"},
        {"role": "user", "content": question},
    ]


def prompt_tokens(generator: LlamaCppGenerator, msgs: list[dict[str, str]]) -> int:
    """Tokens of the templated prompt, counted by the server itself over its locked listener."""
    headers = {"Authorization": f"Bearer {generator.api_key}"}
    with httpx.Client(base_url=generator.base_url, headers=headers, timeout=30) as client:
        prompt = client.post("/apply-template", json={"messages": msgs}).json()["prompt"]
        return len(client.post("/tokenize", json={"content": prompt}).json()["tokens"])


def timed_request(
    generator: LlamaCppGenerator, msgs: list[dict[str, str]], max_tokens: int
) -> dict[str, float]:
    request = GenerationRequest(messages=msgs, max_tokens=max_tokens, timeout_s=600)
    started = time.perf_counter()
    first = last = None
    for _delta in generator.stream(request):
        last = time.perf_counter()
        first = first or last
    if first is None:
        raise RuntimeError("the model produced no text")
    timings = generator.last_timings or {}
    generated = int(timings.get("predicted_n", 0))
    decode_s = last - first
    return {
        "ttft_s": first - started,
        "tokens_per_s": (generated - 1) / decode_s if generated > 1 and decode_s > 0 else 0.0,
        "generated": generated,
        "prompt_read": int(timings.get("prompt_n", 0)),
        "prompt_cached": int(timings.get("cache_n", 0)),
    }


def bench_profile(profile: str, reps: int, max_tokens: int, threads: int) -> dict[str, Any]:
    started = time.perf_counter()
    generator = LlamaCppGenerator(profile, n_threads=threads)
    load_s = time.perf_counter() - started
    try:
        context = build_context()
        n_prompt = prompt_tokens(generator, messages(context, QUESTIONS[0]))
        timed_request(generator, messages(context, "Say OK.", "warmup"), 4)  # untimed warm-up
        cold = [
            timed_request(
                generator, messages(context, QUESTIONS[0], secrets.token_hex(4)), max_tokens
            )
            for _ in range(reps)
        ]
        shared_nonce = secrets.token_hex(4)
        timed_request(generator, messages(context, QUESTIONS[-1], shared_nonce), 4)  # fill cache
        warm = [
            timed_request(
                generator,
                messages(context, QUESTIONS[i % len(QUESTIONS)], shared_nonce),
                max_tokens,
            )
            for i in range(reps)
        ]
    finally:
        generator.close()
    return {
        "profile": profile,
        "model_id": generator.model_id,
        "load_s": load_s,
        "prompt_tokens": n_prompt,
        "cold": cold,
        "repeated_prefix": warm,
    }


def summary_rows(results: list[dict[str, Any]]) -> list[list[Any]]:
    rows = []
    for result in results:
        for case in ("cold", "repeated_prefix"):
            runs = result[case]
            ttft = [r["ttft_s"] for r in runs]
            speed = [r["tokens_per_s"] for r in runs]
            rows.append(
                [
                    result["profile"],
                    case.replace("_", " "),
                    result["prompt_tokens"],
                    f"{statistics.median(r['prompt_cached'] for r in runs):.0f}",
                    f"{statistics.median(ttft):.2f} (best {min(ttft):.2f})",
                    f"{statistics.median(speed):.1f} (best {max(speed):.1f})",
                    f"{statistics.median(r['generated'] for r in runs):.0f}",
                    f"{result['load_s']:.1f}",
                ]
            )
    return rows


HEADERS = [
    "profile",
    "prompt",
    "prompt tokens",
    "cached tokens",
    "TTFT s, median",
    "gen tokens/s, median",
    "tokens out",
    "load s",
]


def machine(threads: int, load_start: str) -> list[str]:
    import xllamacpp

    return [
        f"- CPU: {cpu_model()}, nproc={os.cpu_count()}, llama.cpp threads={threads}",
        f"- xllamacpp {version('xllamacpp')} (CPU wheel); {xllamacpp.get_system_info().strip()}",
        f"- Load average (1/5/15 min) at start: {load_start}, at end: {load_average()}  "
        "(2 cores, possibly shared: timings are noisy, compare within a run)",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--profiles", default="qwen0.5b,qwen1.5b")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args()
    profiles = [p.strip() for p in args.profiles.split(",") if p.strip()]
    unknown = [p for p in profiles if p not in PROFILES]
    if unknown:
        parser.error(f"unknown profiles {unknown}; known: {', '.join(PROFILES)}")

    load_start = load_average()
    results = [bench_profile(p, args.reps, args.max_tokens, args.threads) for p in profiles]
    lines = [
        "# Generator time to first token (llamacpp backend)",
        "",
        *machine(args.threads, load_start),
        f"- {args.reps} requests per row, max_tokens={args.max_tokens}, temperature 0",
        "",
        md_table(HEADERS, summary_rows(results)),
    ]
    markdown = "\n".join(lines)
    print(markdown)
    if not args.no_write:
        paths = write_results("generator_ttft", markdown, {"args": vars(args), "results": results})
        print("\nwritten:", *(str(p) for p in paths))


if __name__ == "__main__":
    main()
