"""Answer speed and accuracy: Newsdesk's pipeline vs the common "stuff the top chunks" baseline.

Same machine, same run, same model, same index (the MultiHop-RAG corpus plus the seed article):
  * ours      - the full pipeline (rag/answering/answer.py): selected sentences under a token
  budget,
                schema-constrained JSON, every claim checked;
  * baseline  - LangChain's RAG tutorial: the articles split by RecursiveCharacterTextSplitter
                (chunk_size=1000, chunk_overlap=200), embedded (same MiniLM) into langchain's
                InMemoryVectorStore, the top-4 by similarity_search stuffed into the tutorial's
                prompt (rag/answering/prompts.py BASELINE_*); free-text answer, nothing checked;
  * baseline-ours-chunks - the same prompt with the top-4 of Newsdesk's own hybrid search
                (chunks of at most 200 embedder tokens): a cheaper, stronger baseline, shown
                beside the tutorial's so neither flatters the comparison;
  * extractive - the pipeline with no model.
Questions: the seed golden set and a fixed sample of one MultiHop-RAG split (`--split dev`, the
default, or `--split test` to report on questions nothing was tuned on). Accuracy is also given
per kind of gold answer: answerable, name/span, gold "yes", gold "no", unanswerable.
Time to first token is from the request to the first generated text; accuracy is the eval
harness's `correct` (abstention right for unanswerable, yes/no match, or the answer contained).
Each system runs over all questions in turn, so each gets llama.cpp's prompt cache for its own
fixed instructions, as it would in service.

    .venv/bin/python bench/answer_latency.py [--profile qwen1.5b] [--multihop 20] [--seed 0]
        [--split test] [--systems extractive,ours,baseline]
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
from langchain_core.embeddings import Embeddings  # noqa: E402

NAME = "answer_latency"


SYSTEMS = ("extractive", "ours", "baseline", "baseline-ours-chunks")


def questions(n_seed: int, n_multihop: int, seed: int, split: str = "dev") -> list[Any]:
    from eval.sets import load_set

    seed_set = load_set(C.ROOT / "eval" / "sets" / "seed.jsonl").items
    multihop = load_set(C.DATA / f"questions-{split}.jsonl").items
    rng = random.Random(seed)
    return rng.sample(seed_set, min(n_seed, len(seed_set))) + rng.sample(
        multihop, min(n_multihop, len(multihop))
    )


def gold_kind(item: Any) -> str:
    from eval.metrics import yes_no

    if item.abstain:
        return "unanswerable"
    return {"yes": "gold yes", "no": "gold no"}.get(yes_no(item.answer) or "", "name/span")


def by_kind(items: list[Any], rows: list[dict[str, Any]]) -> dict[str, str]:
    """Right answers per kind of gold answer, as "right/total"."""
    out: dict[str, list[int]] = {}
    for item, row in zip(items, rows, strict=True):
        kinds = [gold_kind(item)] + ([] if item.abstain else ["answerable"])
        for kind in kinds:
            tally = out.setdefault(kind, [0, 0])
            tally[0] += bool(row["correct"])
            tally[1] += 1
    order = ["answerable", "name/span", "gold yes", "gold no", "unanswerable"]
    return {k: f"{out[k][0]}/{out[k][1]}" for k in order if k in out}


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
                "prompt_evaluated": _evaluated(desk, backend),
                "correct": correct(item, prediction),
                "abstained": answer.abstained,
                "text": answer.text,
            }
        )
        print(f"  {backend} {item.id}: {total / 1000:.1f}s {answer.text[:70]!r}", flush=True)
    return rows


class _Embeddings(Embeddings):
    """Newsdesk's embedder behind langchain's Embeddings interface."""

    def __init__(self, embedder: Any) -> None:
        self.embedder = embedder

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.embedder.embed(texts)

    def embed_query(self, text: str) -> list[float]:
        return self.embedder.embed_query(text)


def tutorial_store(desk: Any, paths: list[Path]) -> Any:
    """The tutorial's index: 1000-character chunks with 200 of overlap, top-4 by similarity."""
    from langchain_core.documents import Document
    from langchain_core.vectorstores import InMemoryVectorStore
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    from rag.ingestion.articles import load_articles

    docs = [
        Document(page_content=a.body, metadata={"id": a.id, "title": a.title})
        for a in load_articles(paths, desk.settings.max_article_chars)
    ]
    splitter = RecursiveCharacterTextSplitter(
        chunk_size=1000, chunk_overlap=200, add_start_index=True
    )
    store = InMemoryVectorStore(_Embeddings(desk.embedder))
    store.add_documents(splitter.split_documents(docs))
    return store


def run_baseline(desk: Any, items: list[Any], name: str, top4: Any) -> list[dict[str, Any]]:
    from eval.metrics import Prediction, correct
    from rag.answering.prompts import BASELINE_SYSTEM, BASELINE_USER
    from rag.generators.base import GenerationRequest

    generator = desk.generator("llamacpp")
    rows = []
    for item in items:
        started = time.perf_counter()
        context = "\n\n".join(top4(item.question))
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
                "prompt_evaluated": _evaluated(desk, "llamacpp"),
                "correct": correct(item, Prediction(text, abstained)),
                "abstained": abstained,
                "text": text,
            }
        )
        print(f"  {name} {item.id}: {(end - started):.1f}s {text[:70]!r}", flush=True)
    return rows


def _evaluated(desk: Any, backend: str) -> int | None:
    """Prompt tokens llama.cpp read for the last request (after its prefix cache)."""
    if backend != "llamacpp":
        return None
    return (desk.generator(backend).last_timings or {}).get("prompt_n")


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
        "prompt_evaluated_p50": C.percentile(
            [r["prompt_evaluated"] for r in rows if r["prompt_evaluated"] is not None] or [0], 50
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="qwen1.5b")
    parser.add_argument("--seed-questions", type=int, default=10)
    parser.add_argument("--multihop", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--split", choices=["dev", "test"], default="dev")
    parser.add_argument(
        "--systems", default=",".join(SYSTEMS), help="comma-separated, of " + ", ".join(SYSTEMS)
    )
    args = parser.parse_args()
    systems = [s for s in args.systems.split(",") if s]
    unknown = sorted(set(systems) - set(SYSTEMS))
    if unknown or not {"ours", "baseline"} <= set(systems):
        parser.error(f"--systems needs ours and baseline, of {', '.join(SYSTEMS)}")

    from rag.desk import Desk

    info = C.machine_info()
    items = questions(args.seed_questions, args.multihop, args.seed, args.split)
    with C.temp_index_dir(NAME) as tmp:
        paths = [C.ARTICLES, C.ROOT / "seeds"]
        C.ingest_with_cli(tmp, paths)
        desk = Desk(C.make_settings(tmp, llm_profile=args.profile))
        store = tutorial_store(desk, paths)
        started = time.perf_counter()
        desk.generator("llamacpp")
        load_s = time.perf_counter() - started
        runs = {
            "extractive": lambda: run_ours(desk, "extractive", items),
            "ours": lambda: run_ours(desk, "llamacpp", items),
            "baseline": lambda: run_baseline(
                desk,
                items,
                "baseline",
                lambda q: [d.page_content for d in store.similarity_search(q, k=4)],
            ),
            "baseline-ours-chunks": lambda: run_baseline(
                desk,
                items,
                "baseline-ours-chunks",
                lambda q: [" ".join(s.text for s in h.sentences) for h in desk.search(q, 4)],
            ),
        }
        results = {name: runs[name]() for name in SYSTEMS if name in systems}
        model = desk.generator("llamacpp").model_id
        desk.close()
    summary = {name: summarise(rows) for name, rows in results.items()}
    ratio = summary["ours"]["ttft_p50_ms"] / summary["baseline"]["ttft_p50_ms"]
    ratio_total = summary["ours"]["total_p50_ms"] / summary["baseline"]["total_p50_ms"]
    own = summary.get("baseline-ours-chunks")
    ratio_own = summary["ours"]["ttft_p50_ms"] / own["ttft_p50_ms"] if own else None
    kinds = {name: by_kind(items, rows) for name, rows in results.items()}
    # What a name answer costs: total time p50 over the name/span questions, per system.
    names = {
        name: C.percentile(
            [r["total_ms"] for i, r in zip(items, rows, strict=True) if gold_kind(i) == "name/span"]
            or [float("nan")],
            50,
        )
        for name, rows in results.items()
    }
    ratio_names = names["ours"] / names["baseline"]
    kind_names = list(next(iter(kinds.values())))
    kind_table = C.md_table(
        ["system", *kind_names], [[name, *k.values()] for name, k in kinds.items()]
    )
    table = C.md_table(
        ["system", "n", "TTFT p50 ms", "TTFT p95 ms", "total p50 ms", "total p95 ms",
         "accuracy", "abstained", "prompt tokens read p50"],
        [[name, s["n"], round(s["ttft_p50_ms"]), round(s["ttft_p95_ms"]),
          round(s["total_p50_ms"]), round(s["total_p95_ms"]), f"{s['accuracy']:.3f}",
          f"{s['abstained']:.2f}", round(s["prompt_evaluated_p50"])]
         for name, s in summary.items()],
    )  # fmt: skip
    peak = C.peak_rss_mb()
    markdown = "\n".join(
        [
            f"# Answer latency and accuracy ({NAME}.py)",
            "",
            *C.machine_lines(info),
            f"- Model: {model} (load {load_s:.1f} s); questions: {len(items)} "
            f"({args.seed_questions} of the seed set + {args.multihop} MultiHop-RAG "
            f"{args.split}, "
            f"sample seed {args.seed}); context budget {desk.settings.context_tokens} tokens "
            f"({desk.settings.short_context_tokens} for short answers, read first from the "
            f"closest {desk.settings.short_first_tokens}), "
            f"{desk.settings.answer_hits} hits",
            f"- Peak RSS of the answering process (the index was built by `newsdesk ingest` in "
            f"its own process, as `make serve` does): {peak:.0f} MB",
            "",
            table,
            "",
            "Right answers by kind of gold answer:",
            "",
            kind_table,
            "",
            f"Our time to first token / the tutorial baseline's: **{ratio:.2f}x** (p50); "
            f"full answer: **{ratio_total:.2f}x** (p50)"
            + (f"; TTFT / the same prompt on Newsdesk's chunks: {ratio_own:.2f}x." if own else "."),
            "Name/span questions, total p50 ms: "
            + ", ".join(f"{name} {value:,.0f}" for name, value in names.items())
            + f"; ours / the baseline: **{ratio_names:.2f}x**.",
            "Goals: ours TTFT p50 <= 5 s, total p50 <= 12 s, RSS <= 3 GB, extractive p50 <= 150 ms,"
            " ours TTFT <= 0.5x baseline at equal or better accuracy.",
        ]
    )
    print(markdown)
    data = {"machine": info, "split": args.split, "summary": summary, "by_kind": kinds,
            "rows": results, "ratio_ttft_p50": ratio, "ratio_total_p50": ratio_total,
            "name_total_p50_ms": names, "ratio_name_total_p50": ratio_names,
            "ratio_ttft_p50_ours_chunks": ratio_own, "peak_rss_mb": peak,
            "context_tokens": desk.settings.context_tokens,
            "short_context_tokens": desk.settings.short_context_tokens,
            "short_first_tokens": desk.settings.short_first_tokens,
            "answer_hits": desk.settings.answer_hits}  # fmt: skip
    C.write_results(f"{NAME}_{args.split}", markdown, data)


if __name__ == "__main__":
    main()
