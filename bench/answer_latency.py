"""Answer speed and accuracy: Newsdesk's pipeline vs the common "stuff the top chunks" baseline.

Same machine, same run, same model, same index (the MultiHop-RAG corpus plus the seed article):
  * ours      - the full pipeline (rag/answer.py): selected sentences under a token budget,
                schema-constrained JSON, every claim checked;
  * baseline  - the top-4 retrieved chunks stuffed into LangChain's RAG-tutorial prompt
                (rag/prompts.py BASELINE_*), free-text answer, nothing checked;
  * extractive - the pipeline with no model.
Questions: the seed golden set and a fixed sample of the MultiHop-RAG dev questions.
Time to first token is from the request to the first generated text; accuracy is the eval
harness's `correct` (abstention right for unanswerable, yes/no match, or the answer contained).
Each system runs over all questions in turn, so each gets llama.cpp's prompt cache for its own
fixed instructions, as it would in service.

    .venv/bin/python bench/answer_latency.py [--profile qwen1.5b] [--multihop 20] [--seed 0]
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C  # noqa: E402

NAME = "answer_latency"


def questions(n_seed: int, n_multihop: int, seed: int) -> list[Any]:
    from eval.sets import load_set

    seed_set = load_set(C.ROOT / "eval" / "sets" / "seed.jsonl").items
    multihop = load_set(C.ROOT / "data" / "multihop-rag" / "questions-dev.jsonl").items
    rng = random.Random(seed)
    return rng.sample(seed_set, min(n_seed, len(seed_set))) + rng.sample(multihop, n_multihop)


def run_ours(desk: Any, backend: str, items: list[Any]) -> list[dict[str, Any]]:
    from eval.metrics import Prediction, correct

    rows = []
    for item in items:
        started = time.perf_counter()
        answer = desk.answer(item.question, backend=backend)
        total = (time.perf_counter() - started) * 1000
        prediction = Prediction(answer.text, answer.abstained)
        rows.append(
            {
                "id": item.id,
                "ttft_ms": answer.timings.get("ttft_ms", total),
                "total_ms": total,
                "prompt_tokens": answer.timings.get("prompt_tokens"),
                "correct": correct(item, prediction),
                "abstained": answer.abstained,
                "text": answer.text,
            }
        )
        print(f"  {backend} {item.id}: {total / 1000:.1f}s {answer.text[:70]!r}", flush=True)
    return rows


def run_baseline(desk: Any, items: list[Any]) -> list[dict[str, Any]]:
    from eval.metrics import Prediction, correct
    from rag.generators.base import GenerationRequest
    from rag.prompts import BASELINE_SYSTEM, BASELINE_USER

    generator = desk.generator("llamacpp")
    rows = []
    for item in items:
        started = time.perf_counter()
        hits = desk.search(item.question, 4)
        context = "\n\n".join(" ".join(s.text for s in h.sentences) for h in hits)
        request = GenerationRequest(
            messages=[
                {"role": "system", "content": BASELINE_SYSTEM},
                {
                    "role": "user",
                    "content": BASELINE_USER.format(question=item.question, context=context),
                },
            ],
            max_tokens=160,
        )
        first = None
        pieces = []
        for delta in generator.stream(request):
            first = first or time.perf_counter()
            pieces.append(delta)
        end = time.perf_counter()
        text = "".join(pieces).strip()
        abstained = "don't know" in text.lower() or "do not know" in text.lower()
        rows.append(
            {
                "id": item.id,
                "ttft_ms": ((first or end) - started) * 1000,
                "total_ms": (end - started) * 1000,
                "prompt_tokens": (generator.last_timings or {}).get("prompt_n"),
                "correct": correct(item, Prediction(text, abstained)),
                "abstained": abstained,
                "text": text,
            }
        )
        print(f"  baseline {item.id}: {(end - started):.1f}s {text[:70]!r}", flush=True)
    return rows


def summarise(rows: list[dict[str, Any]]) -> dict[str, float]:
    scored = [r["correct"] for r in rows if r["correct"] is not None]
    return {
        "n": len(rows),
        "ttft_p50_ms": C.percentile([r["ttft_ms"] for r in rows], 50),
        "ttft_p95_ms": C.percentile([r["ttft_ms"] for r in rows], 95),
        "total_p50_ms": C.percentile([r["total_ms"] for r in rows], 50),
        "total_p95_ms": C.percentile([r["total_ms"] for r in rows], 95),
        "accuracy": sum(scored) / len(scored) if scored else float("nan"),
        "abstained": sum(r["abstained"] for r in rows) / len(rows),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="qwen1.5b")
    parser.add_argument("--seed-questions", type=int, default=10)
    parser.add_argument("--multihop", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    from rag.desk import Desk

    info = C.machine_info()
    items = questions(args.seed_questions, args.multihop, args.seed)
    with C.temp_index_dir(NAME) as tmp:
        C.ingest_with_cli(tmp, [C.ARTICLES, C.ROOT / "seeds"])
        desk = Desk(C.make_settings(tmp, llm_profile=args.profile))
        started = time.perf_counter()
        desk.generator("llamacpp")
        load_s = time.perf_counter() - started
        results = {
            "extractive": run_ours(desk, "extractive", items),
            "ours": run_ours(desk, "llamacpp", items),
            "baseline": run_baseline(desk, items),
        }
        model = desk.generator("llamacpp").model_id
        desk.close()
    summary = {name: summarise(rows) for name, rows in results.items()}
    ratio = summary["ours"]["ttft_p50_ms"] / summary["baseline"]["ttft_p50_ms"]
    table = C.md_table(
        ["system", "n", "TTFT p50 ms", "TTFT p95 ms", "total p50 ms", "total p95 ms",
         "accuracy", "abstained"],
        [[name, s["n"], round(s["ttft_p50_ms"]), round(s["ttft_p95_ms"]),
          round(s["total_p50_ms"]), round(s["total_p95_ms"]), f"{s['accuracy']:.3f}",
          f"{s['abstained']:.2f}"] for name, s in summary.items()],
    )  # fmt: skip
    peak = C.peak_rss_mb()
    markdown = "\n".join(
        [
            f"# Answer latency and accuracy ({NAME}.py)",
            "",
            *C.machine_lines(info),
            f"- Model: {model} (load {load_s:.1f} s); questions: {len(items)} "
            f"({args.seed_questions} of the seed set + {args.multihop} MultiHop-RAG dev, "
            f"sample seed {args.seed})",
            f"- Peak RSS of the answering process (the index was built by `newsdesk ingest` in "
            f"its own process, as `make serve` does): {peak:.0f} MB",
            "",
            table,
            "",
            f"Our time to first token / the baseline's: **{ratio:.2f}x** (p50).",
            "Goals: ours TTFT p50 <= 5 s, total p50 <= 12 s, RSS <= 3 GB, extractive p50 <= 150 ms,"
            " ours TTFT <= 0.5x baseline at equal or better accuracy.",
        ]
    )
    print(markdown)
    C.write_results(NAME, markdown, {"machine": info, "summary": summary, "rows": results,
                                     "ratio_ttft_p50": ratio, "peak_rss_mb": peak})  # fmt: skip


if __name__ == "__main__":
    main()
