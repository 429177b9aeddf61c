"""Run a golden set: answer every question, score it, write results, summary and report.

    OUT/results.jsonl   one row per question: question, gold, prediction, citations, retrieved
                        chunks, scores, timings, flags (cached, gold_missing, error)
    OUT/summary.json    settings, git commit, model ids, every metric with a bootstrap 95%
                        interval, overall and by question type, wall time, thresholds
    OUT/report.html     the same for people (eval.report)
    OUT/cache/<config hash>/<question>.json
                        each answered question, so an interrupted run resumes where it stopped

The configuration hash covers everything that changes an answer: target (local or URL), index
and its fingerprint (articles, chunks, generation, embedder), backend and model, k, the answer
settings and, for a local run, the answering code (a hash of the rag package's sources). A
cached question is reused only if its text is unchanged; its gold may change freely.
Scores are always recomputed from the cached answers, so a new metric needs no re-run.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from eval import calibration
from eval import metrics as m
from eval.cache import Cache, digest, select
from eval.errors import EvalError
from eval.judge import judge
from eval.sets import GoldenSet, GoldItem, load_set
from eval.summary import Threshold, bootstrap_settings, by_type, check_thresholds, metric_table
from eval.targets import HttpTarget, LocalTarget, QuestionFailed, Target
from rag.config import PROJECT_ROOT, Settings
from rag.errors import NewsdeskError

RESULTS_SCHEMA = 1
DEFAULT_K = 10
# Settings that do not change an answer (where things live, service limits, secrets).
_NOT_ANSWER_SETTINGS = {
    "index_dir", "default_index", "seeds_dir", "chroma_host", "chroma_port", "embed_batch_size",
    "embed_threads", "write_batch", "max_article_chars", "model_cache_dir", "llm_threads",
    "openai_api_key", "cors_origins", "write_keys", "ask_keys", "max_body_bytes", "rate_limit",
    "generator_slots", "generator_queue", "generator_timeout_s",
}  # fmt: skip

Progress = Callable[[int, int, dict[str, Any]], None]  # (done, total, row)


@dataclass
class RunOptions:
    set_path: Path
    out: Path
    index: str | None = None
    backend: str | None = None
    url: str | None = None
    k: int = DEFAULT_K
    limit: int | None = None
    sample: int | None = None
    seed: int = 0
    judge: str | None = None
    format: str = "auto"
    thresholds: list[Threshold] = field(default_factory=list)


@dataclass
class RunOutcome:
    summary: dict[str, Any]
    rows: list[dict[str, Any]]
    golden: GoldenSet
    failed_thresholds: list[str]


def git_state() -> dict[str, Any]:
    """The commit and whether the tree differs from it; read-only git, None outside a repo."""

    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(
                ["git", "--no-optional-locks", *args],
                cwd=PROJECT_ROOT,
                capture_output=True,
                text=True,
                timeout=10,
            )
        except (OSError, subprocess.TimeoutExpired):
            return None
        return done.stdout.strip() if done.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    status = git("status", "--porcelain", "--untracked-files=no") if commit else None
    return {"commit": commit, "dirty": None if status is None else bool(status)}


def code_fingerprint() -> str:
    """A hash of the answering code (the rag package's sources and the fitted models beside
    them), committed or not, so a cache never serves answers from code that has since
    changed."""
    import rag

    root = Path(rag.__file__).parent
    digest = hashlib.sha256()
    for path in sorted([*root.rglob("*.py"), *root.rglob("*.json")]):
        digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def answer_settings(settings: Settings) -> dict[str, Any]:
    data = settings.model_dump(mode="json", exclude=_NOT_ANSWER_SETTINGS)
    return {k: str(v) if isinstance(v, Path) else v for k, v in data.items()}


def run_eval(
    options: RunOptions,
    settings: Settings,
    desk: Any | None = None,
    progress: Progress | None = None,
    golden: GoldenSet | None = None,
) -> RunOutcome:
    """Answer, score and write one run; `golden` is the set if the caller already read it."""
    started = time.perf_counter()
    golden = golden or load_set(options.set_path, options.format)
    if not golden.items:
        raise EvalError(f"{options.set_path} holds no readable question")
    items = select(golden.items, options.limit, options.sample, options.seed)

    if desk is None and (options.url is None or options.judge):
        from rag.desk import Desk

        desk = Desk(settings)
    index = options.index or settings.default_index
    target: Target
    if options.url:
        target = HttpTarget(options.url, options.index, options.backend)
    else:
        target = LocalTarget(desk, index, options.backend)
    target.warm_up()
    fingerprint = target.fingerprint()
    config = {
        "schema": RESULTS_SCHEMA,
        "mode": "http" if options.url else "local",
        "url": options.url,
        "index": index,
        "backend": options.backend or settings.generator_backend,
        "k": options.k,
        "answer_settings": None if options.url else answer_settings(settings),
        # A server's code is its own business: for --url, restart a run in a new --out.
        "code": None if options.url else code_fingerprint(),
        "fingerprint": fingerprint,
    }
    config_hash = digest(config)
    cache = Cache(options.out / "cache" / config_hash)
    wanted = [e.article_id for item in items for e in item.evidence]
    present = target.present(wanted)
    if options.judge and desk is None:
        raise EvalError("a judged run needs the local pipeline's generators (no desk was given)")
    judge_generator = desk.generator(options.judge) if options.judge and desk else None
    judge_key = f"{judge_generator.name}:{judge_generator.model_id}" if judge_generator else None

    rows: list[dict[str, Any]] = []
    for done, item in enumerate(items, start=1):
        entry = cache.get(item)
        cached = entry is not None
        error = None
        if entry is None:
            try:
                asked = target.ask(item.question)
                retrieved = target.search(item.question, options.k)
                entry = {
                    "id": item.id,
                    "question": item.question,
                    "answer": asked.answer,
                    "client_ms": asked.client_ms,
                    "retrieved": retrieved,
                    "judge": {},
                }
            except QuestionFailed as exc:
                error = exc.text
        if entry is not None and judge_generator is not None and judge_key not in entry["judge"]:
            verdict = _judge(judge_generator, item, entry, settings.generator_timeout_s)
            if verdict is not None:
                entry["judge"][judge_key] = verdict
        if entry is not None and (not cached or judge_generator is not None):
            cache.put(item, entry)
        row = _row(item, entry, error, cached, present, judge_key)
        rows.append(row)
        if progress is not None:
            progress(done, len(items), row)

    wall = time.perf_counter() - started
    summary = _summary(options, golden, rows, config, config_hash, judge_key, wall)
    options.out.mkdir(parents=True, exist_ok=True)
    write_outputs(options.out, summary, rows)
    failed = [t["message"] for t in summary["thresholds"] if not t["passed"]]
    return RunOutcome(summary, rows, golden, failed)


def _judge(
    generator: Any, item: GoldItem, entry: dict[str, Any], timeout_s: float
) -> dict[str, Any] | None:
    answer = entry["answer"]
    if item.abstain:
        return None  # abstention is scored without a model
    if answer["abstained"]:
        # Declining an answerable question is wrong whatever a judge would say.
        return {"correct": False, "raw": "", "model": None, "note": "abstained; not asked"}
    text = m.answer_text(m.Prediction(answer["text"], False))
    try:
        verdict = judge(generator, item.question, item.answers, text, timeout_s)
    except NewsdeskError:
        return None  # no verdict this time; a re-run asks again
    return {"correct": verdict.correct, "raw": verdict.raw[:500], "model": verdict.model}


def _row(
    item: GoldItem,
    entry: dict[str, Any] | None,
    error: str | None,
    cached: bool,
    present: set[str],
    judge_key: str | None,
) -> dict[str, Any]:
    missing = [a for a in item.evidence_articles if a not in present]
    answer = entry["answer"] if entry else None
    verdict = (entry or {}).get("judge", {}).get(judge_key or "", {})
    prediction = m.Prediction(
        text=answer["text"] if answer else "",
        abstained=bool(answer and answer["abstained"]),
        sentences=answer["sentences"] if answer else [],
        citations=answer["citations"] if answer else [],
        retrieved=entry["retrieved"] if entry else [],
        timings=answer["timings"] if answer else {},
        judge=verdict.get("correct"),
        gold_missing=bool(missing),
        error=error,
    )
    return {
        "id": item.id,
        "question": item.question,
        "question_type": item.question_type,
        "gold": item.to_json(),
        "prediction": None
        if answer is None
        else {
            "text": answer["text"],
            "abstained": answer["abstained"],
            "standalone_question": answer.get("standalone_question"),
            "sentences": answer["sentences"],
            "model": answer.get("model"),
            "backend": answer.get("backend"),
            "mode": answer.get("mode"),
            "reply_probability": answer.get("reply_probability"),
            "confidence": answer.get("confidence"),
            "parts": answer.get("parts", []),
        },
        "citations": prediction.citations,
        "related": answer.get("related", []) if answer else [],
        "retrieved": [_brief_hit(rank, h) for rank, h in enumerate(prediction.retrieved, 1)],
        "judge": verdict or None,
        "scores": m.score(item, prediction),
        "timings": prediction.timings,
        "client_ms": entry.get("client_ms") if entry else None,
        "gold_missing": bool(missing),
        "missing_articles": missing,
        "cached": cached,
        "error": error,
    }


def _brief_hit(rank: int, hit: dict[str, Any]) -> dict[str, Any]:
    return {
        "rank": rank,
        "article_id": hit["article_id"],
        "chunk_id": hit.get("chunk_id"),
        "score": hit.get("score"),
        "sentences": [
            {"sentence_id": s.get("sentence_id"), "text": s["text"]} for s in hit["sentences"]
        ],
    }


def _summary(
    options: RunOptions,
    golden: GoldenSet,
    rows: list[dict[str, Any]],
    config: dict[str, Any],
    config_hash: str,
    judge_key: str | None,
    wall: float,
) -> dict[str, Any]:
    overall = metric_table(rows)
    predictions = [r["prediction"] for r in rows if r["prediction"]]
    return {
        "schema": RESULTS_SCHEMA,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "set": golden.describe(),
        "selection": {
            "limit": options.limit,
            "sample": options.sample,
            "seed": options.seed,
            "questions": len(rows),
            "ids": [r["id"] for r in rows],
        },
        "settings": {**config, "config_hash": config_hash, "judge": options.judge},
        "git": git_state(),
        "models": {
            "generators": sorted({p["model"] for p in predictions if p.get("model")}),
            "backends": sorted({p["backend"] for p in predictions if p.get("backend")}),
            "embedder": _embedder(config["fingerprint"]),
            "judge": judge_key,
        },
        "counts": {
            "questions": len(rows),
            "cached": sum(r["cached"] for r in rows),
            "answered_now": sum(not r["cached"] and r["error"] is None for r in rows),
            "errors": sum(r["error"] is not None for r in rows),
            "gold_missing": sum(r["gold_missing"] for r in rows),
            "abstained": sum(bool(p["abstained"]) for p in predictions),
            "judge_unreadable": sum(
                r["judge"] is not None and r["judge"].get("correct") is None for r in rows
            ),
        },
        # articles of the index that ingest flagged (`rag.ingestion.directives`): their flagged
        # sentences were never evidence in this run
        # (a server tells only a write key's holder which; others get a count)
        "flagged": _flagged(_index_of(config["fingerprint"]).get("flagged")),
        "metrics": overall,
        "calibration": calibration.of_rows(rows),
        "by_question_type": by_type(rows),
        "bootstrap": bootstrap_settings(),
        "thresholds": check_thresholds(overall, options.thresholds),
        "wall_time_s": round(wall, 2),
    }


def _flagged(flagged: Any) -> dict[str, Any]:
    return flagged if isinstance(flagged, dict) else {}


def _index_of(fingerprint: dict[str, Any]) -> dict[str, Any]:
    # Local: the index's own record; --url: what the server's /readyz says of its index.
    return fingerprint.get("index") or fingerprint.get("server", {}).get("index") or {}


def _embedder(fingerprint: dict[str, Any]) -> str | None:
    return _index_of(fingerprint).get("embedder")


def write_outputs(out: Path, summary: dict[str, Any], rows: list[dict[str, Any]]) -> None:
    from eval.report import render_report

    with (out / "results.jsonl").open("w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    (out / "summary.json").write_text(
        json.dumps(summary, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    (out / "report.html").write_text(render_report(summary, rows), encoding="utf-8")


def load_run(folder: Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A run's summary and rows, as `run_eval` wrote them."""
    try:
        summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
        rows = [
            json.loads(line)
            for line in (folder / "results.jsonl").read_text(encoding="utf-8").splitlines()
            if line.strip()
        ]
    except (OSError, ValueError) as exc:
        raise EvalError(f"{folder} is not an evaluation run folder ({exc})") from None
    return summary, rows
