"""Run the three retrieval benchmarks in sequence with default settings and print a summary.

Run from the project root:

    .venv/bin/python bench/run_all.py

Runs, one after another in their own processes (so none disturbs another's timings):
  bench/retrieval_quality.py   (default Settings, no grid)
  bench/ingest_throughput.py   (default repetitions)
  bench/retrieval_latency.py   (10k and 100k replicated chunks, threads 1 and 2)
then reads their JSON results from bench/results/ and prints (and writes to
bench/results/run_all.md / .json) one summary table against the goals.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C  # noqa: E402

NAME = "run_all"
SCRIPTS = ["retrieval_quality", "ingest_throughput", "retrieval_latency"]


def run_script(name: str) -> float:
    print(f"\n=== {name} [load {C.load_average()}] ===", flush=True)
    started = time.perf_counter()
    subprocess.run([sys.executable, str(C.ROOT / "bench" / f"{name}.py")], check=True)
    return time.perf_counter() - started


def results(name: str) -> dict[str, Any]:
    return json.loads((C.RESULTS / f"{name}.json").read_text(encoding="utf-8"))


def summary_rows() -> list[list[Any]]:
    quality = results("retrieval_quality")
    fused = quality["scores"]["fused"]["all"]
    ingest = results("ingest_throughput")
    ratio = statistics.median(r["ratio"] for r in ingest["runs"])
    speedup = statistics.median(r["speedup"] for r in ingest["runs"])
    edit = ingest["runs"][0]["edit_report"]
    rows = [
        [
            "evidence recall@10 (fused)",
            f"{fused['recall@10']:.3f}",
            ">= 0.90",
            ok(fused["recall@10"] >= 0.90),
        ],
        ["MRR@10 / recall@5 (fused)", f"{fused['mrr@10']:.3f} / {fused['recall@5']:.3f}", "-", "-"],
        ["ingest ours/raw encode (median)", f"{ratio:.2f}", ">= 0.85", ok(ratio >= 0.85)],
        ["re-ingest unchanged speedup (median)", f"{speedup:.0f}x", ">= 20x", ok(speedup >= 20)],
        [
            "edit 10 articles: embedded / really changed",
            f"{edit['chunks_embedded']} / {ingest['expected_changed_texts']}",
            "equal",
            ok(edit["chunks_embedded"] == ingest["expected_changed_texts"]),
        ],
    ]
    for cell in results("retrieval_latency")["cells"]:
        total = cell["ms"]["total"]
        rows.append(
            [
                f"Desk.search {cell['size']:,} chunks, {cell['threads']} thread(s), p50/p95 ms",
                f"{total['p50']:.1f} / {total['p95']:.1f}",
                "<= 25 / <= 60 (at 100k)" if cell["size"] >= 100_000 else "-",
                ok(total["p50"] <= 25 and total["p95"] <= 60) if cell["size"] >= 100_000 else "-",
            ]
        )
    return rows


def ok(flag: bool) -> str:
    return "met" if flag else "MISSED"


def main() -> None:
    info = C.machine_info()
    durations = {name: run_script(name) for name in SCRIPTS}
    rows = summary_rows()
    markdown = "\n".join(
        [
            f"# Benchmark summary ({NAME}.py)",
            "",
            *C.machine_lines(info),
            "",
            C.md_table(["measure", "value", "goal", "verdict"], rows),
            "",
            "Wall time per script: " + ", ".join(f"{k} {v:.0f} s" for k, v in durations.items()),
            "",
            "Details: bench/results/retrieval_quality.md, ingest_throughput.md, "
            "retrieval_latency.md.",
        ]
    )
    print("\n" + markdown)
    C.write_results(
        NAME,
        markdown,
        {
            "machine": info | {"load_average_end": C.load_average()},
            "durations_s": durations,
            "summary": rows,
        },
    )


if __name__ == "__main__":
    main()
