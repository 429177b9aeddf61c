"""Helpers shared by the benchmark scripts in bench/ (not a benchmark itself).

Machine description, corpus loading, temp-dir Settings, markdown tables and result files.
Importing this module sets HF_HUB_OFFLINE / TRANSFORMERS_OFFLINE (if unset) so that no
benchmark ever reaches for the network.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from subprocess import DEVNULL
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(
    0, str(ROOT)
)  # so `python bench/X.py` finds `rag` even without the editable install
DATA = ROOT / "data" / "multihop-rag"
ARTICLES = DATA / "articles.jsonl"
QUESTIONS = DATA / "questions-dev.jsonl"
RESULTS = ROOT / "bench" / "results"


# --- machine -----------------------------------------------------------------------------------
def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} / {five:.2f} / {fifteen:.2f}"


def ru_maxrss_mb() -> float:
    """resource.getrusage ru_maxrss (KiB on Linux). Caveat: Linux carries the parent's peak
    over fork+exec, so in a subprocess this is max(parent's peak, own peak)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def peak_rss_mb() -> float:
    """This process's own peak RSS: VmHWM from /proc (reset by exec); ru_maxrss elsewhere."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return ru_maxrss_mb()


def machine_info() -> dict[str, Any]:
    from importlib.metadata import version

    import torch

    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "nproc": os.cpu_count(),
        "cpu": cpu_model(),
        "python": platform.python_version(),
        "torch": version("torch"),
        "torch_threads": torch.get_num_threads(),
        "chromadb": version("chromadb"),
        "sentence_transformers": version("sentence-transformers"),
        "load_average_start": load_average(),
    }


def machine_lines(info: dict[str, Any]) -> list[str]:
    info = dict(info)
    info.setdefault("load_average_end", load_average())
    return [
        f"- Date: {info['date']}",
        f"- CPU: {info['cpu']}, nproc={info['nproc']}",
        f"- Python {info['python']}, torch {info['torch']} (torch threads at start: "
        f"{info['torch_threads']}), chromadb {info['chromadb']}, "
        f"sentence-transformers {info['sentence_transformers']}",
        f"- Load average (1/5/15 min) at start: {info['load_average_start']}, "
        f"at end: {info['load_average_end']}  (2 cores shared with other users: "
        "timings are noisy; compare within a run, not across runs)",
    ]


# --- data --------------------------------------------------------------------------------------
def read_jsonl(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def load_corpus(max_chars: int = 2_000_000):
    from rag.ingestion.articles import load_articles

    return load_articles([ARTICLES], max_chars)


def load_questions() -> list[dict]:
    return read_jsonl(QUESTIONS)


# --- settings and temp indexes ---------------------------------------------------------------
@contextmanager
def temp_index_dir(prefix: str) -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix=f"newsdesk-{prefix}-") as tmp:
        yield Path(tmp)


def ingest_with_cli(index_dir: Path, paths: Sequence[Path], index: str = "default") -> None:
    """Build an index the way a deployment does: `newsdesk ingest` in its own process, so the
    measuring process's memory holds only what serving needs."""
    env = os.environ | {"NEWSDESK_INDEX_DIR": str(index_dir)}
    command = [str(ROOT / ".venv" / "bin" / "newsdesk"), "ingest", *map(str, paths)]
    subprocess.run([*command, "--index", index, "--json"], env=env, check=True, stdout=DEVNULL)


def make_settings(index_dir: Path, **overrides: Any):
    from rag.config import Settings

    return Settings(index_dir=index_dir, **overrides)


def load_embedder(settings):
    """The project's embedder, timed (model load is reported, never counted in throughput)."""
    from rag.store.embedding import create_embedder

    started = time.perf_counter()
    embedder = create_embedder(
        settings.embedder,
        batch_size=settings.embed_batch_size,
        threads=settings.embed_threads,
        int8_queries=settings.embed_int8_queries,
    )
    return embedder, time.perf_counter() - started


# --- statistics --------------------------------------------------------------------------------
def percentile(values: Sequence[float], q: float) -> float:
    """Linear-interpolated percentile, q in [0, 100]."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    pos = (len(ordered) - 1) * q / 100
    low = int(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def best_and_median(values: Sequence[float], higher_is_better: bool = True) -> tuple[float, float]:
    best = max(values) if higher_is_better else min(values)
    return best, statistics.median(values)


# --- output ------------------------------------------------------------------------------------
def md_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    def cell(value: Any) -> str:
        if isinstance(value, float):
            return f"{value:.3f}"
        return str(value).replace("|", "\\|").replace("\n", " ")

    lines = [
        "| " + " | ".join(headers) + " |",
        "|" + "|".join("---" for _ in headers) + "|",
    ]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def write_results(name: str, markdown: str, data: dict[str, Any]) -> tuple[Path, Path]:
    RESULTS.mkdir(parents=True, exist_ok=True)
    md_path = RESULTS / f"{name}.md"
    json_path = RESULTS / f"{name}.json"
    md_path.write_text(markdown.rstrip() + "\n", encoding="utf-8")
    json_path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return md_path, json_path


def dump_chunks(index: Any, path: Path) -> int:
    """Save an index's chunks with their vectors as JSON, to copy into other indexes without
    embedding again; the number saved."""
    chunks = [
        {"id": r.id, "text": r.text, "meta": r.meta, "vector": r.vector}
        for r in index.all_chunks(vectors=True)
    ]
    path.write_text(json.dumps(chunks))
    return len(chunks)


def forget_chroma_clients() -> None:
    """Chroma caches one client per path in-process; drop them before a temp dir goes away."""
    from chromadb.api.client import SharedSystemClient

    SharedSystemClient.clear_system_cache()
