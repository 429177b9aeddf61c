"""Fit the confidence of verdicts composed from parts on the dev split; report it on dev and test.

A yes/no question about what named outlets report is answered part by part
(`rag/answering/parts.py`): each part's finding carries the support model's score of its sentence,
and the verdict is composed in code. Its confidence is the probability that the verdict is right
given the lowest of those scores (the weakest part a "Yes" stands on; for a "No", the part found
unsupported). A "No" because a part is contradicted (its closest sentence states what the claim
denies) is a population of its own.

Reads two `newsdesk eval run` outputs (results.jsonl) over the MultiHop-RAG dev and test
splits (any backend: the verdicts are composed in code, the same with `extractive` as with a
model, which only the other answers' figures need): each shown verdict (`mode` "parts", not
abstained) and the eval harness's `correct`. On dev only, for each population apart, Platt
scaling (a logistic curve on the score) and the share right (one confidence for every
verdict of that kind, (right + 1) / (shown + 2)) are compared by 5-fold cross-validated log
loss (binned calibration error on a few dozen verdicts turns on which bin a fold's
predictions fall in; the log loss of each held-out verdict does not); the better one (on a
tie, the share) is fitted on all of dev and written to
rag/answering/verdict_model.json as knots (lowest score -> share right). On test nothing is
chosen: it is scored with what dev fitted. Figures: ECE, accuracy and count of the verdicts at
confidence >= 0.8, and, with the short answers' confidence as each row of the runs carries
it, the ECE and coverage at >= 0.8 of all the answers shown.

    .venv/bin/python bench/verdict_fit.py --dev RUN_DIR --test RUN_DIR [--write]
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
from confidence_fit import held_out, log_loss  # noqa: E402

from eval.calibration import HIGH, ece  # noqa: E402
from rag.answering.confidence import CONTRADICTED  # noqa: E402
from rag.answering.confidence import VERDICTS as VERDICTS_PATH  # noqa: E402

NAME = "verdict_fit"
# The populations fitted apart: "Yes", "No" from a part not supported, and "No" from a part
# contradicted (its closest sentence states what the claim denies).
VERDICTS = ("Yes", "No", CONTRADICTED)
GRID = np.linspace(0, 1, 41)


def load(run: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (run / "results.jsonl").open(encoding="utf-8")]


def verdict(row: dict[str, Any]) -> str | None:
    """The population of a shown verdict composed from scored parts ("Yes", "No", or
    `CONTRADICTED`); None for anything else."""
    prediction = row["prediction"]
    if prediction.get("mode") != "parts" or prediction["abstained"]:
        return None
    parts = prediction.get("parts") or []
    if not parts or any(p.get("score") is None for p in parts):
        return None
    said = prediction["text"].split(".", 1)[0].strip()
    if said == "No" and any(p.get("status") == "contradicted" for p in parts):
        return CONTRADICTED
    return said if said in VERDICTS else None


def lowest(row: dict[str, Any]) -> float:
    return min(float(p["score"]) for p in row["prediction"]["parts"])


def examples(rows: list[dict[str, Any]], said: str) -> tuple[np.ndarray, np.ndarray]:
    kept = [r for r in rows if verdict(r) == said]
    x = np.array([lowest(r) for r in kept], dtype=float)
    y = np.array([float(bool(r["scores"]["correct"])) for r in kept], dtype=float)
    return x, y


def fit(kind: str, x: np.ndarray, y: np.ndarray) -> list[float]:
    """The share right at each score of GRID: Platt scaling, or one share for every score,
    (right + 1) / (shown + 2) as some populations are small."""
    if kind == "share" or len(set(y.tolist())) < 2:
        return [float((y.sum() + 1) / (len(y) + 2))] * len(GRID)
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression().fit(x.reshape(-1, 1), y)
    return model.predict_proba(GRID.reshape(-1, 1))[:, 1].tolist()


def apply(knots: list[float], x: np.ndarray) -> np.ndarray:
    return np.interp(x, GRID, knots)


def cross_validated_log_loss(kind: str, x: np.ndarray, y: np.ndarray) -> float | None:
    """Mean log loss of each verdict's confidence fitted without it (5 folds). None: no
    verdicts."""
    if not len(x):
        return None
    predicted = held_out(lambda train, held: apply(fit(kind, x[train], y[train]), x[held]), len(x))
    return log_loss(predicted, y)


def report(label: str, rows: list[dict[str, Any]], knots: dict[str, list[float]]) -> dict:
    """The verdicts at the fitted confidence, then every shown answer of the run with one."""
    confidence, right = [], []
    out: dict[str, Any] = {"split": label}
    for said in VERDICTS:
        x, y = examples(rows, said)
        c = apply(knots[said], x)
        out[f'"{said}" right'] = f"{int(y.sum())}/{len(y)}"
        confidence += c.tolist()
        right += y.tolist()
    c, y = np.array(confidence), np.array(right)
    high = c >= HIGH
    out["verdicts ECE"] = ece(c, y)
    out[f"verdicts at >= {HIGH} (right)"] = f"{int(high.sum())} ({int(y[high].sum())})"
    for r in rows:  # the other answers shown with a confidence (short answers)
        confidence_of = r["prediction"].get("confidence")
        if verdict(r) is None and confidence_of is not None and not r["prediction"]["abstained"]:
            confidence.append(float(confidence_of))
            right.append(float(bool(r["scores"]["correct"])))
    c, y = np.array(confidence), np.array(right)
    high = c >= HIGH
    answerable = sum(not r["gold"].get("abstain") for r in rows)
    out["all answers ECE"] = ece(c, y)
    share = f"{y[high].mean():.3f}" if high.any() else "-"
    out[f"all at >= {HIGH}: n, right"] = f"{int(high.sum())}, {share}"
    out[f"coverage at >= {HIGH} (of answerable)"] = round(int(high.sum()) / answerable, 3)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dev", type=Path, required=True)
    parser.add_argument("--test", type=Path, required=True)
    parser.add_argument(
        "--write", action="store_true", help="write rag/answering/verdict_model.json"
    )
    args = parser.parse_args()
    dev, test = load(args.dev), load(args.test)
    knots, chosen, cv = {}, {}, {}
    for said in VERDICTS:
        x, y = examples(dev, said)
        cv[said] = {
            kind: cross_validated_log_loss(kind, x, y) for kind in ("share", "platt")
        }  # on a tie, the simpler
        chosen[said] = min(
            cv[said], key=lambda kind: math.inf if cv[said][kind] is None else cv[said][kind]
        )
        knots[said] = fit(chosen[said], x, y)
    reports = [report(label, rows, knots) for label, rows in (("dev", dev), ("test", test))]
    table = C.md_table(list(reports[0]), [list(r.values()) for r in reports])
    markdown = "\n".join(
        [
            f"# Verdicts' confidence ({NAME}.py)",
            "",
            f"- Runs: dev `{args.dev}`, test `{args.test}`",
            f'- "{CONTRADICTED}": a "No" because a part is contradicted (its closest sentence'
            ' states what the claim denies); "No": any other',
            *(
                f'- "{said}": 5-fold cross-validated log loss on dev: Platt {cv[said]["platt"]}, '
                f"share right {cv[said]['share']} -> **{chosen[said]}**, fitted on all of dev"
                for said in VERDICTS
            ),
            "",
            table,
        ]
    )
    print(markdown)
    model = {
        said: {
            "x": [round(v, 6) for v in GRID.tolist()],
            "y": [round(v, 6) for v in knots[said]],
            "method": chosen[said],
            "n": len(examples(dev, said)[0]),
        }
        for said in VERDICTS
    }
    model["fitted_on"] = "MultiHop-RAG dev split (bench/verdict_fit.py)"  # type: ignore[assignment]
    if args.write:
        VERDICTS_PATH.write_text(json.dumps(model, indent=1) + "\n", encoding="utf-8")
    C.write_results(NAME, markdown, {"cv_log_loss": cv, "model": model})


if __name__ == "__main__":
    main()
