"""Time to the first event of an answer's stream: what a reader sees before any model call.

An answer's stream opens with the sentences that will be read (`evidence`: before the model
is asked, or, for a yes/no question decided by parts, the sentence each part's finding rests
on). This measures, for every question of a MultiHop-RAG split, the time from the
call to that first event in-process (`Answerer.stream`, the code behind POST /v1/ask/stream),
with the packaged language model loaded as in service; the stream is closed at that event, so
the model is never asked and each question's figure is the pipeline's alone: reading the
question, the searches, the context. The index is built from the corpus by `newsdesk ingest`
in its own process, as `make serve` does.

    .venv/bin/python bench/evidence_latency.py [--split dev|test] [--backend llamacpp]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C  # noqa: E402

NAME = "evidence_latency"
GOAL_MS = 150  # the first event's p50


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", default="dev", choices=("dev", "test"))
    parser.add_argument("--backend", default="llamacpp")
    args = parser.parse_args()

    from eval.sets import load_set
    from rag.desk import Desk

    items = load_set(C.DATA / f"questions-{args.split}.jsonl").items
    info = C.machine_info()
    with C.temp_index_dir(NAME) as tmp:
        C.ingest_with_cli(tmp, [C.ARTICLES, C.ROOT / "seeds"])
        desk = Desk(C.make_settings(tmp))
        answerer = desk.answerer(None, args.backend)
        answerer.answer(items[0].question)  # load what a service has loaded before it answers
        rows = []
        for item in items:
            started = time.perf_counter()
            stream = answerer.stream(item.question)
            kind = "none"
            for kind, _ in stream:
                if kind in ("evidence", "done"):
                    break
            stream.close()  # the model is not asked
            rows.append(
                {"id": item.id, "event": kind, "ms": (time.perf_counter() - started) * 1000}
            )
        desk.close()

    events = Counter(r["event"] for r in rows)
    table = [
        [event, n, round(C.percentile(ms, 50)), round(C.percentile(ms, 95))]
        for event, n in events.most_common()
        for ms in [[r["ms"] for r in rows if r["event"] == event]]
    ]
    every = [r["ms"] for r in rows]
    p50 = C.percentile(every, 50)
    markdown = "\n".join(
        [
            f"# Time to an answer's first event ({NAME}.py)",
            "",
            *C.machine_lines(info),
            f"- Questions: the {len(rows)} of the MultiHop-RAG {args.split} split; backend "
            f"{args.backend} (loaded, never asked: the stream is closed at its first event)",
            "",
            C.md_table(["first event", "questions", "p50 ms", "p95 ms"], table),
            "",
            f"Every question: p50 **{p50:.0f} ms**, p95 {C.percentile(every, 95):.0f} ms "
            f"(goal: p50 <= {GOAL_MS} ms). `done` first: an answer given before any sentence is "
            "read (an outlet the index lacks, nothing relevant found).",
        ]
    )
    print(markdown)
    C.write_results(
        f"{NAME}_{args.split}",
        markdown,
        {
            "machine": info,
            "split": args.split,
            "backend": args.backend,
            "rows": rows,
            "p50_ms": p50,
            "by_event": table,
        },
    )


if __name__ == "__main__":
    main()
