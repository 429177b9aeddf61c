"""How much of the answer quality is the reader's? The pipeline vs the same model given the gold
evidence itself.

Over the answerable MultiHop-RAG dev questions, two runs with the same model, prompt and support
check:

  * pipeline - retrieval and sentence selection under the context budget, as in service;
  * gold     - the question's gold evidence sentences (those of its articles that match the
               dataset's evidence) as the whole context, whatever their token count: retrieval
               and selection made perfect.

What the gold run still gets wrong or abstains on is down to the reader (the model and the
support check its claims must pass), not to what it was shown.

    .venv/bin/python bench/reader_ceiling.py [--limit N] [--profile qwen1.5b]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C  # noqa: E402

NAME = "reader_ceiling"


def gold_context(index: Any, item: Any) -> list[Any]:
    """The item's evidence as context sentences, in article and reading order."""
    from rag.answering.context import ContextSentence
    from rag.types import Sentence, sentence_id

    found = []
    for evidence in item.evidence:
        article, spans = index.get_article(evidence.article_id)
        said = evidence.sentence.strip()
        for i, (start, end) in enumerate(spans):
            text = article.body[start:end]
            if text.strip() == said or said[:60] in text:
                found.append((article, Sentence(sentence_id(article.id, i), i, text, start, end)))
                break
    found.sort(key=lambda pair: (pair[0].id, pair[1].index))
    return [
        ContextSentence(n, s, a.id, a.title, a.source, a.url, a.published_at, relevance=1.0)
        for n, (a, s) in enumerate(found, start=1)
    ]


def run(answerer: Any, items: list[Any], label: str) -> list[dict[str, Any]]:
    from eval.metrics import Prediction, correct

    rows = []
    for item in items:
        started = time.perf_counter()
        answer = answerer.answer(item.question)
        total = (time.perf_counter() - started) * 1000
        rows.append(
            {
                "id": item.id,
                "type": item.question_type,
                "context_sentences": answer.timings.get("context_sentences"),
                "prompt_tokens": answer.timings.get("prompt_tokens"),
                "ttft_ms": answer.timings.get("ttft_ms", total),
                "total_ms": total,
                "correct": correct(item, Prediction(answer.text, answer.abstained)),
                "abstained": answer.abstained,
                "answer": answer.text,
            }
        )
        print(f"  {label} {item.id}: {total / 1000:.1f}s {answer.text[:60]!r}", flush=True)
    return rows


def summarise(rows: Sequence[dict[str, Any]]) -> dict[str, float]:
    n = len(rows)
    return {
        "n": n,
        "abstained": sum(r["abstained"] for r in rows) / n,
        "correct": sum(r["correct"] for r in rows) / n,
        "context_sentences_p50": C.percentile([r["context_sentences"] or 0 for r in rows], 50),
        "prompt_tokens_p50": C.percentile([r["prompt_tokens"] or 0 for r in rows], 50),
        "ttft_p50_ms": C.percentile([r["ttft_ms"] for r in rows], 50),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=None, help="Only the first N questions.")
    parser.add_argument("--profile", default="qwen1.5b")
    args = parser.parse_args()

    from eval.sets import load_set
    from rag.answering.answer import Answerer
    from rag.desk import Desk

    class GoldAnswerer(Answerer):
        """Answers each question from its gold evidence, whatever was retrieved."""

        def select_context(self, question: str, news: Sequence[Any]) -> list[Any]:
            return evidence[question]

    info = C.machine_info()
    items = [i for i in load_set(C.QUESTIONS).items if not i.abstain][: args.limit]
    with C.temp_index_dir(NAME) as tmp:
        desk = Desk(C.make_settings(tmp, llm_profile=args.profile))
        desk.ingest_paths([C.ARTICLES])
        evidence = {item.question: gold_context(desk.index(), item) for item in items}
        generator = desk.generator("llamacpp")
        pipeline = Answerer(desk.retriever(), generator, desk.settings, desk.slots)
        gold = GoldAnswerer(desk.retriever(), generator, desk.settings, desk.slots)
        results = {"pipeline": run(pipeline, items, "pipeline"), "gold": run(gold, items, "gold")}
        model = generator.model_id
        desk.close()

    summary = {name: summarise(rows) for name, rows in results.items()}
    by_type: dict[str, dict[str, list[dict[str, Any]]]] = defaultdict(dict)
    for name, rows in results.items():
        for kind in sorted({r["type"] for r in rows}):
            by_type[kind][name] = [r for r in rows if r["type"] == kind]
    table = C.md_table(
        ["context", "questions", "abstained", "correct", "context sentences p50",
         "prompt tokens p50", "TTFT p50 ms"],
        [[name, s["n"], f"{s['abstained']:.3f}", f"{s['correct']:.3f}",
          round(s["context_sentences_p50"]), round(s["prompt_tokens_p50"]),
          round(s["ttft_p50_ms"])] for name, s in summary.items()],
    )  # fmt: skip
    type_table = C.md_table(
        ["question type", "questions", "abstained: pipeline", "abstained: gold",
         "correct: pipeline", "correct: gold"],
        [[kind, len(runs["gold"]),
          *(f"{summarise(runs[n])['abstained']:.3f}" for n in ("pipeline", "gold")),
          *(f"{summarise(runs[n])['correct']:.3f}" for n in ("pipeline", "gold"))]
         for kind, runs in by_type.items()],
    )  # fmt: skip
    markdown = "\n".join(
        [
            f"# Reader ceiling: the pipeline vs the gold evidence as context ({NAME}.py)",
            "",
            *C.machine_lines(info),
            f"- Model: {model}; questions: the {len(items)} answerable MultiHop-RAG dev "
            "questions; pipeline first, then gold; same prompt and support check",
            "- abstained: share of these answerable questions answered with the abstention; "
            "correct: the eval harness's `correct`; prompt tokens: the whole prompt as the "
            "embedder's tokenizer counts it",
            "",
            table,
            "",
            type_table,
        ]
    )
    print(markdown)
    C.write_results(NAME, markdown, {"machine": info, "summary": summary, "rows": results})


if __name__ == "__main__":
    main()
