"""Two runs side by side: metric deltas with paired-bootstrap intervals, and flipped questions.

The difference of a metric is taken over the questions both runs scored (matched by id), by
resampling those questions together, so the interval reflects the change and not the spread of
the set. A difference is called significant when its 95% interval excludes zero.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from eval.metrics import AGGREGATES, METRICS
from eval.run import load_run
from eval.stats import paired_bootstrap


def compare_runs(a_dir: Path, b_dir: Path) -> dict[str, Any]:
    a_summary, a_rows = load_run(a_dir)
    b_summary, b_rows = load_run(b_dir)
    a_by_id = {r["id"]: r for r in a_rows}
    b_by_id = {r["id"]: r for r in b_rows}
    shared = [i for i in a_by_id if i in b_by_id]
    notes = []
    if a_summary["set"]["sha256"] != b_summary["set"]["sha256"]:
        notes.append("the two runs used different question sets (or versions of one)")
    if len(shared) < max(len(a_rows), len(b_rows)):
        notes.append(
            f"{len(shared)} questions in common ({len(a_rows)} in A, {len(b_rows)} in B); "
            "differences are over the common ones"
        )
    metrics = {}
    for name, metric in METRICS.items():
        pairs = [(a_by_id[i]["scores"].get(name), b_by_id[i]["scores"].get(name)) for i in shared]
        pairs = [(x, y) for x, y in pairs if x is not None and y is not None]
        diff = paired_bootstrap(
            [x for x, _ in pairs], [y for _, y in pairs], AGGREGATES[metric.aggregate]
        )
        metrics[name] = {
            "a": a_summary["metrics"].get(name),
            "b": b_summary["metrics"].get(name),
            "delta": None if diff is None else round(diff.delta, 4),
            "ci_low": None if diff is None else round(diff.low, 4),
            "ci_high": None if diff is None else round(diff.high, 4),
            "n_shared": 0 if diff is None else diff.n,
            "p_value": None if diff is None else round(diff.p_value, 4),
            "significant": bool(diff and diff.significant),
            "higher_is_better": metric.higher_is_better,
            "unit": metric.unit,
        }
    return {
        "a": _describe(a_dir, a_summary),
        "b": _describe(b_dir, b_summary),
        "shared_questions": len(shared),
        "notes": notes,
        "metrics": metrics,
        "flips": _flips(shared, a_by_id, b_by_id),
    }


def _describe(folder: Path, summary: dict[str, Any]) -> dict[str, Any]:
    settings = summary["settings"]
    return {
        "path": str(folder),
        "set": f"{summary['set']['name']} {summary['set']['version']}",
        "backend": settings["backend"],
        "target": settings["url"] or settings["index"],
        "commit": summary["git"]["commit"],
        "config_hash": settings["config_hash"],
        "questions": summary["counts"]["questions"],
    }


def _flips(
    shared: list[str], a_by_id: dict[str, Any], b_by_id: dict[str, Any]
) -> dict[str, list[dict[str, Any]]]:
    flips: dict[str, list[dict[str, Any]]] = {
        "correct_to_wrong": [],
        "wrong_to_correct": [],
        "started_abstaining": [],
        "stopped_abstaining": [],
    }
    for i in shared:
        a, b = a_by_id[i], b_by_id[i]
        entry = {
            "id": i,
            "question": a["question"],
            "gold": "abstain" if a["gold"]["abstain"] else a["gold"]["answer"],
            "a": _said(a),
            "b": _said(b),
        }
        ca, cb = a["scores"].get("correct"), b["scores"].get("correct")
        if ca == 1 and cb == 0:
            flips["correct_to_wrong"].append(entry)
        elif ca == 0 and cb == 1:
            flips["wrong_to_correct"].append(entry)
        aa, ab = _abstained(a), _abstained(b)
        if ab and not aa:
            flips["started_abstaining"].append(entry)
        elif aa and not ab:
            flips["stopped_abstaining"].append(entry)
    return flips


def _abstained(row: dict[str, Any]) -> bool:
    return bool(row["prediction"] and row["prediction"]["abstained"])


def _said(row: dict[str, Any]) -> str:
    if row["error"]:
        return f"error: {row['error']}"
    return row["prediction"]["text"] if row["prediction"] else ""
