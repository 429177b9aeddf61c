"""Fit the short answers' confidence on the dev split; report it on dev and test.

Reads two `newsdesk eval run` outputs (results.jsonl) over the MultiHop-RAG dev and test
splits. A short answer that was shown (`mode` "short", not abstained) carries its reply's
probability under the model; whether it was right is the eval harness's `correct`. On dev only:

  * isotonic regression and Platt scaling (a logistic curve on the logit of the probability)
    are compared by 5-fold held-out log loss; the better one is fitted on all of dev and
    written to rag/answering/confidence_model.json as knots (reply probability -> share right);
  * each story counts once: a question weighs 1 / the number of dev's short-answer questions
    with its gold answer. A split's name questions cluster on a few stories (dev: 19 of 46
    answered "Sam Bankman-Fried", 11 "Google"), which a model answers alike, and the
    confidence is to hold for a question about any story, not for the story asked most;
  * the abstention threshold: the confidence below which a short answer is withheld, chosen
    to maximise right answers plus right abstentions over dev's short-answer questions;
  * the confidence of a corroborated name (one that replaced the model's reply because more
    articles name it): its share right on dev (weighted as above), with one right and one
    wrong added.

On test nothing is chosen: it is scored with what dev fitted (ECE, accuracy of the answers at
confidence >= 0.8 and their coverage of the answerable short-answer questions).

    .venv/bin/python bench/confidence_fit.py --dev RUN_DIR --test RUN_DIR [--write]
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections import Counter
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


def shown(rows: list[dict[str, Any]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Reply probability, rightness and weight (`story_weights`) of the model's located
    replies (corroborated names are fitted apart)."""
    weights = story_weights(rows)
    kept = [r for r in rows if located(r)]
    x = np.array([r["prediction"]["reply_probability"] for r in kept], dtype=float)
    y = np.array([right(r) for r in kept], dtype=float)
    return x, y, np.array([weights[r["id"]] for r in kept], dtype=float)


def story_weights(rows: list[dict[str, Any]]) -> dict[str, float]:
    """Each question's weight: 1 / the number of questions with its gold answer, so that each
    story counts once. A question with no answer in the news is a story of its own."""

    def story(row: dict[str, Any]) -> str:
        gold = row["gold"]
        return row["id"] if gold.get("abstain") else " ".join(str(gold["answer"]).lower().split())

    counts = Counter(story(r) for r in rows)
    return {r["id"]: 1.0 / counts[story(r)] for r in rows}


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


def fit(
    kind: str, x: np.ndarray, y: np.ndarray, w: np.ndarray | None = None
) -> tuple[list[float], list[float]]:
    """Knots of the fitted map from reply probability to share right (`w`: the weights)."""
    if kind == "isotonic":
        from sklearn.isotonic import IsotonicRegression

        isotonic = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip")
        model = isotonic.fit(x, y, sample_weight=w)
        knots_x = [0.0, *model.X_thresholds_.tolist(), 1.0]
        knots_y = [float(model.predict([v])[0]) for v in knots_x]
        return knots_x, knots_y
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression().fit(_logit(x).reshape(-1, 1), y, sample_weight=w)
    grid = np.linspace(0, 1, 41)
    return grid.tolist(), model.predict_proba(_logit(grid).reshape(-1, 1))[:, 1].tolist()


def apply(knots: tuple[list[float], list[float]], x: np.ndarray) -> np.ndarray:
    return np.interp(x, knots[0], knots[1])


def cross_validated_log_loss(kind: str, x: np.ndarray, y: np.ndarray, w: np.ndarray) -> float:
    predicted = held_out(
        lambda train, held: apply(fit(kind, x[train], y[train], w[train]), x[held]), len(x)
    )
    return log_loss(predicted, y, w)


def held_out(
    predict: Callable[[np.ndarray, np.ndarray], np.ndarray], n: int, folds: int = 5
) -> np.ndarray:
    """Predictions each made by a fit on the other folds: `predict(train, held)`, each an
    array of indices; folds drawn with a fixed seed, so two fits are compared on the same
    ones."""
    order = np.random.default_rng(0).permutation(n)
    predicted = np.empty(n)
    for f in range(folds):
        held = order[f::folds]
        predicted[held] = predict(np.setdiff1d(order, held), held)
    return predicted


def log_loss(predicted: np.ndarray, y: np.ndarray, w: np.ndarray | None = None) -> float:
    """Mean (weighted) log loss of predicted probabilities: binned calibration error on a few
    dozen answers turns on which bin a prediction falls in; the log loss of each does not."""
    p = np.clip(predicted, 1e-6, 1 - 1e-6)
    return round(float(np.average(-(y * np.log(p) + (1 - y) * np.log(1 - p)), weights=w)), 4)


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


def corroborated_shown(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in rows if corroborated(r) and not r["prediction"]["abstained"]]


def corroborated_rate(rows: list[dict[str, Any]]) -> tuple[int, int]:
    """Right and shown among the corroborated names."""
    names = corroborated_shown(rows)
    return sum(bool(r["scores"]["correct"]) for r in names), len(names)


def corroborated_confidence(rows: list[dict[str, Any]]) -> float | None:
    """The corroborated names' share right, each story counted once (`story_weights`), with
    one right and one wrong added. None: there are none."""
    weights = story_weights(rows)
    names = corroborated_shown(rows)
    if not names:
        return None
    right = sum(weights[r["id"]] for r in names if r["scores"]["correct"])
    return round((right + 1) / (sum(weights[r["id"]] for r in names) + 2), 3)


def report(
    label: str, rows: list[dict[str, Any]], knots: Any, cut: float, named: float | None
) -> dict[str, Any]:
    x, y, _ = shown(rows)
    confidence = apply(knots, x)
    right, n = corroborated_rate(rows)
    if named is not None and n:  # the corroborated names, at their one confidence
        x_named = corroborated_shown(rows)
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
    x, y, w = shown(dev)
    cv = {kind: cross_validated_log_loss(kind, x, y, w) for kind in ("isotonic", "platt")}
    chosen = min(cv, key=cv.__getitem__)
    knots = fit(chosen, x, y, w)
    cut = threshold(dev, knots)
    right, n = corroborated_rate(dev)
    named = corroborated_confidence(dev)
    reports = [
        report(label, rows, knots, cut, named) for label, rows in (("dev", dev), ("test", test))
    ]
    table = C.md_table(list(reports[0]), [list(r.values()) for r in reports])
    markdown = "\n".join(
        [
            f"# Short answers' confidence ({NAME}.py)",
            "",
            f"- Runs: dev `{args.dev}`, test `{args.test}`",
            f"- Each story counted once: a dev question weighs 1 / the number of dev short-answer"
            f" questions with its gold answer ({len(x)} located replies, weight {w.sum():.1f})",
            f"- 5-fold cross-validated log loss on dev: isotonic {cv['isotonic']}, Platt"
            f" {cv['platt']} -> **{chosen}**, fitted on all of dev",
            f"- Abstention threshold chosen on dev: confidence < {cut:.3f}",
            f"- Corroborated names (a name more articles name, in place of the model's reply): "
            f"{right}/{n} right on dev; confidence, each story once, (right + 1) / (shown + 2)"
            f" = {named}",
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
    C.write_results(NAME, markdown, {"cv_log_loss": cv, "model": model})


if __name__ == "__main__":
    main()
