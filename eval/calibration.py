"""How well `confidence` means what it says: expected calibration error and the reliability
diagram's bins, over the answers a run showed with a confidence.

An answer's confidence is the probability that it is right (`rag.answering.confidence`); over the
answers whose confidence falls in one tenth of [0, 1], the share right should match their mean
confidence. ECE is the answers-weighted mean of that gap.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

BINS = 10
HIGH = 0.8  # "likely": a confidence at or above this


def ece(confidence: Sequence[float], right: Sequence[float], bins: int = BINS) -> float | None:
    return calibration(confidence, right, bins)["ece"]


def calibration(
    confidence: Sequence[float], right: Sequence[float], bins: int = BINS
) -> dict[str, Any]:
    c, r = np.asarray(confidence, dtype=float), np.asarray(right, dtype=float)
    if not len(c):
        return {"n": 0, "ece": None, "bins": [], "high": None}
    edges = np.linspace(0, 1, bins + 1)
    index = np.clip(np.digitize(c, edges[1:-1]), 0, bins - 1)
    table, gap = [], 0.0
    for b in range(bins):
        inside = index == b
        if not inside.any():
            continue
        mean, share = float(c[inside].mean()), float(r[inside].mean())
        gap += inside.sum() * abs(mean - share)
        table.append(
            {
                "low": round(float(edges[b]), 2),
                "high": round(float(edges[b + 1]), 2),
                "n": int(inside.sum()),
                "confidence": round(mean, 3),
                "right": round(share, 3),
            }
        )
    high = c >= HIGH
    return {
        "n": int(len(c)),
        "ece": round(gap / len(c), 3),
        "bins": table,
        "high": {
            "n": int(high.sum()),
            "right": round(float(r[high].mean()), 3) if high.any() else None,
        },
    }


def of_rows(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The calibration of the answers a run showed with a confidence, scored by `correct`."""
    shown = [
        r
        for r in rows
        if r.get("prediction")
        and not r["prediction"]["abstained"]
        and r["prediction"].get("confidence") is not None
        and r["scores"].get("correct") is not None
    ]
    return calibration(
        [r["prediction"]["confidence"] for r in shown],
        [float(r["scores"]["correct"]) for r in shown],
    )
