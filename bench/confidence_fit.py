"""Fit the short answers' confidence on the dev split; report it on dev and test.

Reads two `newsdesk eval run` outputs (results.jsonl) over the MultiHop-RAG dev and test
splits. A short answer that was shown (`mode` "short", not abstained) carries its reply's
probability under the model; whether it was right is the eval harness's `correct`. On dev only:

  * isotonic regression and Platt scaling (a logistic curve on the logit of the probability)
    are compared by 5-fold cross-validated expected calibration error (ECE, 10 equal-width
    bins); the better one is fitted on all of dev and written to rag/answering/confidence_model.json
    as knots (reply probability -> share right);
  * the abstention threshold: the confidence below which a short answer is withheld, chosen
    to maximise right answers plus right abstentions over dev's short-answer questions;
  * the confidence of a corroborated name (one that replaced the model's reply because more
    articles name it): its share right on dev, with one right and one wrong added.

On test nothing is chosen: it is scored with what dev fitted (ECE, accuracy of the answers at
confidence >= 0.8 and their coverage of the answerable short-answer questions).

    .venv/bin/python bench/confidence_fit.py --dev RUN_DIR --test RUN_DIR [--write]
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C  # noqa: E402

from eval.calibration import HIGH, ece  # noqa: E402
from rag.answering.confidence import MODEL  # noqa: E402

NAME = "confidence_fit"


def load(run: Path) -> list[dict[str, Any]]:
    rows = [json.loads(line) for line in (run / "results.jsonl").open(encoding="utf-8")]
    return [r for r in rows if (r.get("prediction") or {}).get("mode") == "short"]


def corroborated(row: dict[str, Any]) -> bool:
    """A name put in place of the model's reply (rag.answering.names.corroborated): fitted apart."""
    return bool((row.get("timings") or {}).get("corroborated"))


def located(row: dict[str, Any]) -> bool:
    """A reply located in what was read: shown, or withheld only for being too unsure (a run
    made with a threshold must not hide from the next fit the answers it withheld)."""
    prediction = row["prediction"]
    if prediction.get("reply_probability") is None or corroborated(row):
        return False
    return not prediction["abstained"] or bool((row.get("timings") or {}).get("unsure"))


def right(row: dict[str, Any]) -> float:
    """Whether the located reply is right, shown or not."""
    from eval.metrics import Prediction, correct
    from eval.sets import GoldItem

    if not row["prediction"]["abstained"]:
        return float(row["scores"]["correct"] or 0.0)
    gold = row["gold"]
    if gold.get("abstain"):
        return 0.0
    reply = row["prediction"]["sentences"][0]["text"]
    item = GoldItem(row["id"], row["question"], gold["answer"], tuple(gold.get("aliases") or ()))
    return float(correct(item, Prediction(reply, False)) or 0.0)


def shown(rows: list[dict[str, Any]]) -> tuple[np.ndarray, np.ndarray]:
    """Reply probability and rightness of the model's located replies (corroborated names
    are fitted apart)."""
    kept = [r for r in rows if located(r)]
    x = np.array([r["prediction"]["reply_probability"] for r in kept], dtype=float)
    y = np.array([right(r) for r in kept], dtype=float)
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
    return held_out_ece(lambda xs, ys, held: apply(fit(kind, xs, ys), held), x, y, folds)


def held_out(
    predict: Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray],
    x: np.ndarray,
    y: np.ndarray,
    folds: int = 5,
) -> np.ndarray:
    """Predictions each made by a fit on the other folds: `predict(x_train, y_train, x_held)`;
    folds drawn with a fixed seed, so two fits are compared on the same ones."""
    order = np.random.default_rng(0).permutation(len(x))
    predicted = np.empty(len(x))
    for f in range(folds):
        held = order[f::folds]
        train = np.setdiff1d(order, held)
        predicted[held] = predict(x[train], y[train], x[held])
    return predicted


def held_out_ece(
    predict: Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray],
    x: np.ndarray,
    y: np.ndarray,
    folds: int = 5,
) -> float | None:
    """ECE of the held-out predictions (`held_out`)."""
    return ece(held_out(predict, x, y, folds), y)


def threshold(rows: list[dict[str, Any]], knots: tuple[list[float], list[float]]) -> float:
    """The confidence below which withholding a short answer gains most on these rows: a
    withheld answer to an answerable question is lost, one to an unanswerable is won."""
    gains = []
    for r in rows:
        if not located(r):
            continue
        confidence = float(apply(knots, np.array([r["prediction"]["reply_probability"]]))[0])
        gains.append((confidence, (1.0 if r["gold"].get("abstain") else 0.0) - right(r)))
    best, best_gain = 0.0, 0.0
    for cut in sorted({c for c, _ in gains}):
        gain = sum(g for c, g in gains if c < cut)
        if gain > best_gain + 1e-9:
            best, best_gain = cut, gain
    return best


def withheld(rows: list[dict[str, Any]], knots: Any, cut: float) -> str:
    """The located replies the threshold withholds, how many of them were right, and how many
    were to unanswerable questions."""
    out = [
        r
        for r in rows
        if located(r) and apply(knots, np.array([r["prediction"]["reply_probability"]]))[0] < cut
    ]
    right_ones = sum(bool(right(r)) for r in out)
    null = sum(bool(r["gold"].get("abstain")) for r in out)
    return f"{len(out)} ({right_ones} right, {null} unanswerable)"


def corroborated_rate(rows: list[dict[str, Any]]) -> tuple[int, int]:
    """Right and shown among the corroborated names."""
    names = [r for r in rows if corroborated(r) and not r["prediction"]["abstained"]]
    return sum(bool(r["scores"]["correct"]) for r in names), len(names)


def report(
    label: str, rows: list[dict[str, Any]], knots: Any, cut: float, named: float | None
) -> dict[str, Any]:
    x, y = shown(rows)
    confidence = apply(knots, x)
    right, n = corroborated_rate(rows)
    if named is not None and n:  # the corroborated names, at their one confidence
        x_named = [r for r in rows if corroborated(r) and not r["prediction"]["abstained"]]
        confidence = np.concatenate([confidence, np.full(n, named)])
        y = np.concatenate([y, [float(bool(r["scores"]["correct"])) for r in x_named]])
    answerable = [r for r in rows if not r["gold"].get("abstain")]
    high = confidence >= HIGH
    return {
        "split": label,
        "short questions": len(rows),
        "located, with a probability": len(x),
        "right of located": f"{int(y.sum())}/{len(y)}",
        "ECE": ece(confidence, y),
        f"right at >= {HIGH}": f"{int(y[high].sum())}/{int(high.sum())}",
        f"coverage at >= {HIGH} (of answerable)": round(
            int(high.sum()) / max(1, len(answerable)), 3
        ),
        "mean confidence": round(float(confidence.mean()), 3) if len(x) else math.nan,
        "withheld by the threshold": withheld(rows, knots, cut),
        "corroborated names right": f"{right}/{n}",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dev", type=Path, required=True)
    parser.add_argument("--test", type=Path, required=True)
    parser.add_argument(
        "--write", action="store_true", help="write rag/answering/confidence_model.json"
    )
    args = parser.parse_args()
    dev, test = load(args.dev), load(args.test)
    x, y = shown(dev)
    cv = {kind: cross_validated_ece(kind, x, y) for kind in ("isotonic", "platt")}
    chosen = min(cv, key=cv.__getitem__)
    knots = fit(chosen, x, y)
    cut = threshold(dev, knots)
    right, n = corroborated_rate(dev)
    named = round((right + 1) / (n + 2), 3) if n else None
    reports = [
        report(label, rows, knots, cut, named) for label, rows in (("dev", dev), ("test", test))
    ]
    table = C.md_table(list(reports[0]), [list(r.values()) for r in reports])
    markdown = "\n".join(
        [
            f"# Short answers' confidence ({NAME}.py)",
            "",
            f"- Runs: dev `{args.dev}`, test `{args.test}`",
            f"- 5-fold cross-validated ECE on dev: isotonic {cv['isotonic']}, Platt {cv['platt']}"
            f" -> **{chosen}**, fitted on all of dev",
            f"- Abstention threshold chosen on dev: confidence < {cut:.3f}",
            f"- Corroborated names (a name more articles name, in place of the model's reply): "
            f"{right}/{n} right on dev, confidence (right + 1) / (shown + 2) = {named}",
            "- ECE and the rows at >= 0.8 count every shown short answer, the corroborated "
            "names at their one confidence.",
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
        "corroborated": named,
        "corroborated_n": n,
        "fitted_on": "MultiHop-RAG dev split (bench/confidence_fit.py)",
        "n": len(x),
    }
    if args.write:
        MODEL.write_text(json.dumps(model, indent=1) + "\n", encoding="utf-8")
    C.write_results(NAME, markdown, {"cv_ece": cv, "model": model})


if __name__ == "__main__":
    main()
