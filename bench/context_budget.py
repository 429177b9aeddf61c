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

With `--short`, the budget is that of short answers (`short_context_tokens`) and the questions
are every question of `--split` (dev by default) that is answered short (who, which, what,
when, how many: `rag.answering.answer.SHORT_KINDS`), with accuracy per kind of gold answer:

    .venv/bin/python bench/context_budget.py --short --budgets 170,300,500,800
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


def short_questions(split: str) -> list[Any]:
    """The questions of a MultiHop-RAG split that are answered short."""
    from eval.sets import load_set
    from rag.answering.answer import SHORT_KINDS
    from rag.reading.question import read_question

    items = load_set(C.DATA / f"questions-{split}.jsonl").items
    return [i for i in items if read_question(i.question).kind in SHORT_KINDS]


def run_budget(desk: Any, budget: int, items: list[Any], key: str) -> list[dict[str, Any]]:
    from answer_latency import gold_kind

    from eval.metrics import Prediction, correct
    from rag.answering.answer import Answerer

    generator = desk.generator("llamacpp")
    settings = desk.settings.model_copy(update={key: budget})
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
                "kind": gold_kind(item),
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
        **{
            kind: f"{sum(bool(r['correct']) for r in of)}/{len(of)}"
            for kind in ("name/span", "gold yes", "gold no", "unanswerable")
            if (of := [r for r in rows if r["kind"] == kind])
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budgets", default="160,200,240,320")
    parser.add_argument("--profile", default="qwen1.5b")
    parser.add_argument("--seed-questions", type=int, default=15)
    parser.add_argument("--multihop", type=int, default=15)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--short", action="store_true", help="short answers' budget")
    parser.add_argument("--split", default="dev")
    args = parser.parse_args()
    budgets = [int(b) for b in args.budgets.split(",")]

    from rag.desk import Desk

    info = C.machine_info()
    if args.short:
        items, key = short_questions(args.split), "short_context_tokens"
    else:
        items, key = questions(args.seed_questions, args.multihop, args.seed), "context_tokens"
    with C.temp_index_dir(NAME) as tmp:
        desk = Desk(C.make_settings(tmp, llm_profile=args.profile))
        desk.ingest_paths([C.ROOT / "data" / "multihop-rag" / "articles.jsonl", C.ROOT / "seeds"])
        model = desk.generator("llamacpp").model_id
        results = {budget: run_budget(desk, budget, items, key) for budget in budgets}
        desk.close()
    summary = {budget: summarise(rows) for budget, rows in results.items()}
    kinds = [
        k for k in ("name/span", "gold yes", "gold no", "unanswerable") if k in summary[budgets[0]]
    ]
    table = C.md_table(
        [key, "n", "prompt read p50", "cached p50", "TTFT p50 ms", "TTFT p95 ms",
         "total p50 ms", "accuracy", "abstained", *kinds],
        [[b, s["n"], round(s["prompt_read_p50"]), round(s["prompt_cached_p50"]),
          round(s["ttft_p50_ms"]), round(s["ttft_p95_ms"]), round(s["total_p50_ms"]),
          f"{s['accuracy']:.3f}", f"{s['abstained']:.2f}", *(s[k] for k in kinds)]
         for b, s in summary.items()],
    )  # fmt: skip
    markdown = "\n".join(
        [
            f"# Context budget: time to first token vs accuracy ({NAME}.py)",
            "",
            *C.machine_lines(info),
            f"- Model: {model}; questions: {len(items)} "
            + (
                f"(every MultiHop-RAG {args.split} question answered short)"
                if args.short
                else f"({args.seed_questions} of the seed set + {args.multihop} MultiHop-RAG "
                f"dev, sample seed {args.seed})"
            )
            + "; budgets run in turn",
            "- prompt read: tokens llama.cpp processed after the cached prefix (the fixed "
            "instructions); TTFT counts only questions that reached the model",
            "",
            table,
        ]
    )
    print(markdown)
    name = f"{NAME}_short_{args.split}" if args.short else NAME
    C.write_results(name, markdown, {"machine": info, "summary": summary, "rows": results})


if __name__ == "__main__":
    main()
