"""How big should the context be? Time to first token and accuracy per context token budget.

Every context token is read by the model before it writes anything: on this CPU, about 60
prompt tokens a second. The budget (`context_tokens`) trades that time against the chance that
the sentences which answer the question are in the prompt. This script runs the full pipeline
(the embedded LLM, the same index and questions as answer_latency.py) once per budget and
reports, per budget:

  * the prompt tokens llama.cpp really read (its `prompt_n`: the part after the cached prefix),
  * time to first token and to the full answer (p50/p95),
  * accuracy (the eval harness's `correct`) and the abstention rate.

    .venv/bin/python bench/context_budget.py [--budgets 160,200,240,320] [--seed-questions 15]
        [--multihop 15] [--profile qwen1.5b]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C  # noqa: E402
from answer_latency import questions  # noqa: E402

NAME = "context_budget"


def run_budget(desk: Any, budget: int, items: list[Any]) -> list[dict[str, Any]]:
    from eval.metrics import Prediction, correct
    from rag.answer import Answerer

    generator = desk.generator("llamacpp")
    settings = desk.settings.model_copy(update={"context_tokens": budget})
    answerer = Answerer(desk.retriever(), generator, settings, desk.slots)
    rows = []
    for item in items:
        started = time.perf_counter()
        answer = answerer.answer(item.question)
        total = (time.perf_counter() - started) * 1000
        gated = bool(answer.timings.get("gate"))
        timings = {} if gated else (generator.last_timings or {})
        rows.append(
            {
                "id": item.id,
                "ttft_ms": answer.timings.get("ttft_ms", total),
                "total_ms": total,
                "prompt_read": timings.get("prompt_n"),
                "prompt_cached": timings.get("cache_n"),
                "context_sentences": answer.timings.get("context_sentences"),
                "correct": correct(item, Prediction(answer.text, answer.abstained)),
                "abstained": answer.abstained,
                "gated": gated,
            }
        )
        print(f"  {budget} {item.id}: {total / 1000:.1f}s {answer.text[:60]!r}", flush=True)
    return rows


def summarise(rows: list[dict[str, Any]]) -> dict[str, float]:
    asked = [r for r in rows if not r["gated"]]
    scored = [r["correct"] for r in rows if r["correct"] is not None]
    return {
        "n": len(rows),
        "prompt_read_p50": C.percentile([r["prompt_read"] for r in asked], 50),
        "prompt_cached_p50": C.percentile([r["prompt_cached"] for r in asked], 50),
        "ttft_p50_ms": C.percentile([r["ttft_ms"] for r in asked], 50),
        "ttft_p95_ms": C.percentile([r["ttft_ms"] for r in asked], 95),
        "total_p50_ms": C.percentile([r["total_ms"] for r in rows], 50),
        "accuracy": sum(scored) / len(scored) if scored else float("nan"),
        "abstained": sum(r["abstained"] for r in rows) / len(rows),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budgets", default="160,200,240,320")
    parser.add_argument("--profile", default="qwen1.5b")
    parser.add_argument("--seed-questions", type=int, default=15)
    parser.add_argument("--multihop", type=int, default=15)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    budgets = [int(b) for b in args.budgets.split(",")]

    from rag.desk import Desk

    info = C.machine_info()
    items = questions(args.seed_questions, args.multihop, args.seed)
    with C.temp_index_dir(NAME) as tmp:
        desk = Desk(C.make_settings(tmp, llm_profile=args.profile))
        desk.ingest_paths([C.ROOT / "data" / "multihop-rag" / "articles.jsonl", C.ROOT / "seeds"])
        model = desk.generator("llamacpp").model_id
        results = {budget: run_budget(desk, budget, items) for budget in budgets}
        desk.close()
    summary = {budget: summarise(rows) for budget, rows in results.items()}
    table = C.md_table(
        ["context_tokens", "n", "prompt read p50", "cached p50", "TTFT p50 ms", "TTFT p95 ms",
         "total p50 ms", "accuracy", "abstained"],
        [[b, s["n"], round(s["prompt_read_p50"]), round(s["prompt_cached_p50"]),
          round(s["ttft_p50_ms"]), round(s["ttft_p95_ms"]), round(s["total_p50_ms"]),
          f"{s['accuracy']:.3f}", f"{s['abstained']:.2f}"] for b, s in summary.items()],
    )  # fmt: skip
    markdown = "\n".join(
        [
            f"# Context budget: time to first token vs accuracy ({NAME}.py)",
            "",
            *C.machine_lines(info),
            f"- Model: {model}; questions: {len(items)} ({args.seed_questions} of the seed set + "
            f"{args.multihop} MultiHop-RAG dev, sample seed {args.seed}); budgets run in turn",
            "- prompt read: tokens llama.cpp processed after the cached prefix (the fixed "
            "instructions); TTFT counts only questions that reached the model",
            "",
            table,
        ]
    )
    print(markdown)
    C.write_results(NAME, markdown, {"machine": info, "summary": summary, "rows": results})


if __name__ == "__main__":
    main()
