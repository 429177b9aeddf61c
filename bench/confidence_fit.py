"""Fit the short answers' confidence on the dev split; report it on dev and test.

Reads two `newsdesk eval run` outputs (results.jsonl) over the MultiHop-RAG dev and test
splits. A short answer that was shown (`mode` "short", not abstained) carries its reply's
probability under the model; whether it was right is the eval harness's `correct`. On dev only:

  * isotonic regression and Platt scaling (a logistic curve on the logit of the probability)
    are compared by 5-fold cross-validated expected calibration error (ECE, 10 equal-width
    bins); the better one is fitted on all of dev and written to rag/confidence_model.json as
    knots (reply probability -> share right);
  * the abstention threshold: the confidence below which a short answer is withheld, chosen
    to maximise right answers plus right abstentions over dev's short-answer questions.

On test nothing is chosen: it is scored with what dev fitted (ECE, accuracy of the answers at
confidence >= 0.8 and their coverage of the answerable short-answer questions).

    .venv/bin/python bench/confidence_fit.py --dev RUN_DIR --test RUN_DIR [--write]
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C  # noqa: E402

from eval.calibration import HIGH, ece  # noqa: E402

NAME = "confidence_fit"


def load(run: Path) -> list[dict[str, Any]]:
    rows = [json.loads(line) for line in (run / "results.jsonl").open(encoding="utf-8")]
    return [r for r in rows if (r.get("prediction") or {}).get("mode") == "short"]


def shown(rows: list[dict[str, Any]]) -> tuple[np.ndarray, np.ndarray]:
    """Reply probability and rightness of the short answers that were shown."""
    kept = [
        r
        for r in rows
        if not r["prediction"]["abstained"] and r["prediction"].get("reply_probability") is not None
    ]
    x = np.array([r["prediction"]["reply_probability"] for r in kept], dtype=float)
    y = np.array([float(r["scores"]["correct"] or 0.0) for r in kept], dtype=float)
    return x, y


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


def fit(kind: str, x: np.ndarray, y: np.ndarray) -> tuple[list[float], list[float]]:
    """Knots of the fitted map from reply probability to share right."""
    if kind == "isotonic":
        from sklearn.isotonic import IsotonicRegression

        model = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(x, y)
        knots_x = [0.0, *model.X_thresholds_.tolist(), 1.0]
        knots_y = [float(model.predict([v])[0]) for v in knots_x]
        return knots_x, knots_y
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression().fit(_logit(x).reshape(-1, 1), y)
    grid = np.linspace(0, 1, 41)
    return grid.tolist(), model.predict_proba(_logit(grid).reshape(-1, 1))[:, 1].tolist()


def apply(knots: tuple[list[float], list[float]], x: np.ndarray) -> np.ndarray:
    return np.interp(x, knots[0], knots[1])


def cross_validated_ece(kind: str, x: np.ndarray, y: np.ndarray, folds: int = 5) -> float | None:
    order = np.random.default_rng(0).permutation(len(x))
    predicted = np.empty(len(x))
    for f in range(folds):
        held = order[f::folds]
        train = np.setdiff1d(order, held)
        predicted[held] = apply(fit(kind, x[train], y[train]), x[held])
    return ece(predicted, y)


def threshold(rows: list[dict[str, Any]], knots: tuple[list[float], list[float]]) -> float:
    """The confidence below which withholding a short answer gains most on these rows: a
    withheld answer to an answerable question is lost, one to an unanswerable is won."""
    gains = []
    for r in rows:
        p = r["prediction"].get("reply_probability")
        if r["prediction"]["abstained"] or p is None:
            continue
        confidence = float(apply(knots, np.array([p]))[0])
        right = float(r["scores"]["correct"] or 0.0)
        gains.append((confidence, (1.0 if r["gold"].get("abstain") else 0.0) - right))
    best, best_gain = 0.0, 0.0
    for cut in sorted({c for c, _ in gains}):
        gain = sum(g for c, g in gains if c < cut)
        if gain > best_gain + 1e-9:
            best, best_gain = cut, gain
    return best


def withheld(rows: list[dict[str, Any]], knots: Any, cut: float) -> str:
    """What the threshold changes in a run made without it: the shown short answers it would
    withhold, how many of them were right, and how many were to unanswerable questions."""
    out = [
        r
        for r in rows
        if not r["prediction"]["abstained"]
        and r["prediction"].get("reply_probability") is not None
        and apply(knots, np.array([r["prediction"]["reply_probability"]]))[0] < cut
    ]
    right = sum(bool(r["scores"]["correct"]) for r in out)
    null = sum(bool(r["gold"].get("abstain")) for r in out)
    return f"{len(out)} ({right} right, {null} unanswerable)"


def report(label: str, rows: list[dict[str, Any]], knots: Any, cut: float) -> dict[str, Any]:
    x, y = shown(rows)
    confidence = apply(knots, x)
    answerable = [r for r in rows if not r["gold"].get("abstain")]
    high = confidence >= HIGH
    return {
        "split": label,
        "short questions": len(rows),
        "shown with a probability": len(x),
        "right of shown": f"{int(y.sum())}/{len(y)}",
        "ECE": ece(confidence, y),
        f"right at >= {HIGH}": f"{int(y[high].sum())}/{int(high.sum())}",
        f"coverage at >= {HIGH} (of answerable)": round(
            int(high.sum()) / max(1, len(answerable)), 3
        ),
        "mean confidence": round(float(confidence.mean()), 3) if len(x) else math.nan,
        "withheld by the threshold": withheld(rows, knots, cut),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dev", type=Path, required=True)
    parser.add_argument("--test", type=Path, required=True)
    parser.add_argument("--write", action="store_true", help="write rag/confidence_model.json")
    args = parser.parse_args()
    dev, test = load(args.dev), load(args.test)
    x, y = shown(dev)
    cv = {kind: cross_validated_ece(kind, x, y) for kind in ("isotonic", "platt")}
    chosen = min(cv, key=cv.__getitem__)
    knots = fit(chosen, x, y)
    cut = threshold(dev, knots)
    reports = [report(label, rows, knots, cut) for label, rows in (("dev", dev), ("test", test))]
    table = C.md_table(list(reports[0]), [list(r.values()) for r in reports])
    markdown = "\n".join(
        [
            f"# Short answers' confidence ({NAME}.py)",
            "",
            f"- Runs: dev `{args.dev}`, test `{args.test}`",
            f"- 5-fold cross-validated ECE on dev: isotonic {cv['isotonic']}, Platt {cv['platt']}"
            f" -> **{chosen}**, fitted on all of dev",
            f"- Abstention threshold chosen on dev: confidence < {cut:.3f}",
            "",
            table,
        ]
    )
    print(markdown)
    model = {
        "x": [round(v, 6) for v in knots[0]],
        "y": [round(v, 6) for v in knots[1]],
        "method": chosen,
        "abstain_below": round(cut, 3),
        "fitted_on": "MultiHop-RAG dev split (bench/confidence_fit.py)",
        "n": len(x),
    }
    if args.write:
        path = C.ROOT / "rag" / "confidence_model.json"
        path.write_text(json.dumps(model, indent=1) + "\n", encoding="utf-8")
    C.write_results(NAME, markdown, {"cv_ece": cv, "model": model})


if __name__ == "__main__":
    main()
