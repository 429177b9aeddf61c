"""A short answer's confidence: the probability that it is right, from the model's
probability of its reply.

The calibration is fitted on the MultiHop-RAG dev split by `bench/confidence_fit.py` and kept
in `confidence_model.json` beside this module: the reply probabilities of its knots and the
share of right answers each stands for (isotonic regression or Platt scaling, whichever
cross-validates better; either way a more probable reply is never the less trusted one), and
the confidence below which a short answer is withheld. Between knots the confidence is read
off the line joining them. Each story counts once in the fit (questions with one answer weigh
as one question), so that the confidence holds for a question about any story, not for the
story the split asks about most.

A name that replaced the model's reply because more articles name it
(`rag.answering.names.corroborated`) is another population: the model's probability for it is low by
construction (it preferred another). Its confidence is the share of such names that were right on
dev (each story once, with one right and one wrong added, as the counts are small), kept as
`corroborated`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import cache
from pathlib import Path

import numpy as np

MODEL = Path(__file__).with_name("confidence_model.json")
VERDICTS = Path(__file__).with_name("verdict_model.json")
CONTRADICTED = "No, contradicted"  # the verdict model's entry for a "No" a contradicted part gives


@cache
def _model() -> dict:
    return json.loads(MODEL.read_text(encoding="utf-8"))


def _knots() -> tuple[list[float], list[float]]:
    return _model()["x"], _model()["y"]


def too_unsure(confidence: float | None, below: float | None = None) -> bool:
    """Below the threshold (`below`, else the one fitted on dev: withholding a short answer
    there gains more right abstentions than it loses right answers)."""
    cut = _model().get("abstain_below", 0.0) if below is None else below
    return confidence is not None and confidence < cut


def corroborated_confidence() -> float | None:
    """The chance that a name put in place of the model's reply is right (None: not fitted)."""
    value = _model().get("corroborated")
    return None if value is None else float(value)


def calibrated(probability: float | None) -> float | None:
    """The chance that a located short answer is right, given its reply's probability."""
    if probability is None:
        return None
    x, y = _knots()
    return round(float(np.interp(probability, x, y)), 3)


@cache
def _verdicts() -> dict:
    return json.loads(VERDICTS.read_text(encoding="utf-8")) if VERDICTS.exists() else {}


def verdict_confidence(
    said: str, scores: Sequence[float], contradicted: bool = False
) -> float | None:
    """The chance that a verdict composed from the parts' findings (`rag.answering.parts`) is right,
    given the lowest support score among them: the weakest part a "Yes" stands on, or the
    part a "No" finds unsupported. A "No" because a part is contradicted (its closest sentence
    states what the claim denies) is a population of its own (`CONTRADICTED`), fitted apart.
    None: no calibration fitted for this verdict."""
    fits = _verdicts()
    fit = fits.get(CONTRADICTED) if said == "No" and contradicted else None
    fit = fit or fits.get(said)
    if fit is None or not scores:
        return None
    return round(float(np.interp(min(scores), fit["x"], fit["y"])), 3)
