"""Conflicting reports against answers: are both sides shown, each attributed?

An index of the MultiHop-RAG corpus, the seed article and the 60 articles of
`eval/sets/conflicts.jsonl` (30 pairs of reports that differ). Each pair's question is asked.
A pair counts as attributed when the answer cites both sides' sentences and names both
outlets; also counted: answers that say the reports differ, that cite only one side (they
pick one), and that abstain.

    python bench/conflicts.py [--backend extractive|llamacpp|openai] [--limit N]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (  # noqa: E402
    ARTICLES,
    ROOT,
    load_embedder,
    machine_info,
    machine_lines,
    make_settings,
    md_table,
    read_jsonl,
    temp_index_dir,
    write_results,
)

from rag.answering.prompts import REPORTS_DIFFER  # noqa: E402
from rag.desk import Desk  # noqa: E402
from rag.ingestion.articles import make_article  # noqa: E402
from rag.types import sentence_id  # noqa: E402

CONFLICTS = ROOT / "eval" / "sets" / "conflicts.jsonl"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default="extractive")
    parser.add_argument("--limit", type=int, default=0, help="only the first N pairs")
    args = parser.parse_args()
    records = read_jsonl(CONFLICTS)[: args.limit or None]
    per_pair = []
    with temp_index_dir("conflicts") as index_dir:
        settings = make_settings(index_dir)
        embedder, _ = load_embedder(settings)
        desk = Desk(settings, embedder=embedder)
        desk.ingest_paths([ARTICLES, ROOT / "seeds"])
        desk.ingest_articles(
            [make_article(a, CONFLICTS.name, 2_000_000) for r in records for a in r["articles"]]
        )
        started = time.perf_counter()
        for record in records:
            answer = desk.answer(record["question"], backend=args.backend)
            cited = {c.sentence_id for c in answer.citations}
            sides = [sentence_id(s["article"], s["sentence"]) in cited for s in record["sides"]]
            named = [s["outlet"] in answer.text for s in record["sides"]]
            per_pair.append(
                {
                    "id": record["id"],
                    "kind": record["kind"],
                    "question": record["question"],
                    "answer": answer.text,
                    "sides_cited": sum(sides),
                    "attributed": all(sides) and all(named),
                    "differ": REPORTS_DIFFER in answer.text,
                    "conflicts": answer.conflicts,
                    "abstained": answer.abstained,
                }
            )
        seconds = time.perf_counter() - started
        desk.close()

    n = len(per_pair)
    totals = {
        "pairs": n,
        "attributed": sum(p["attributed"] for p in per_pair),
        "differ": sum(p["differ"] for p in per_pair),
        "one_side": sum(p["sides_cited"] == 1 for p in per_pair),
        "abstained": sum(p["abstained"] for p in per_pair),
        "seconds": round(seconds, 1),
    }
    kinds = sorted({p["kind"] for p in per_pair})
    by_kind = [
        [k, sum(p["kind"] == k for p in per_pair),
         sum(p["attributed"] for p in per_pair if p["kind"] == k)]
        for k in kinds
    ]  # fmt: skip
    info = machine_info()
    lines = [
        f"# Conflicting reports (`python bench/conflicts.py --backend {args.backend}`)",
        "",
        *machine_lines(info),
        "",
        f"Index: the MultiHop-RAG corpus, the seed article and {2 * n} written articles "
        f"({n} pairs that differ, `eval/sets/conflicts.jsonl`). Backend: `{args.backend}`.",
        "",
        f"- Both sides cited and both outlets named: **{totals['attributed']} of {n}** "
        f"({totals['attributed'] / max(n, 1):.2f}; goal >= 0.8)",
        f"- Answers saying the reports differ: {totals['differ']}; citing one side only: "
        f"{totals['one_side']}; abstained: {totals['abstained']}",
        f"- {totals['seconds']} s for {n} questions",
        "",
        md_table(["kind", "pairs", "attributed"], by_kind),
        "",
        md_table(
            ["pair", "kind", "sides cited", "attributed", "differ", "answer"],
            [
                [
                    p["id"],
                    p["kind"],
                    p["sides_cited"],
                    "yes" if p["attributed"] else "no",
                    "yes" if p["differ"] else "no",
                    p["answer"][:160].replace("|", "/"),
                ]
                for p in per_pair
            ],
        ),  # fmt: skip
    ]
    md, _ = write_results(
        f"conflicts_{args.backend}",
        "\n".join(lines),
        {"machine": info, "totals": totals, "answers": per_pair},
    )
    print(md.read_text())


if __name__ == "__main__":
    main()
