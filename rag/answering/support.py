"""How well one news sentence supports one claim: a small logistic model over general signals.

The signals hold for news in general: how close the two are in embedding space
(all-MiniLM-L6-v2), how much of the claim's content words and names the sentence (with its
article's headline) holds, whether it lacks a number the claim states, and whether one of them
negates what the other states.
The weights are fitted on labelled claim/sentence pairs built from the MultiHop-RAG dev split
(`bench/support_fit.py`, which also reports the model's precision and recall on pairs built
the same way from the test split) and kept in `support_model.json` beside this file.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

from rag.reading.english import negations
from rag.text import content_stems, names, numbers

MODEL_PATH = Path(__file__).with_name("support_model.json")
FEATURES = ("similarity", "content", "names", "number_missing", "negation")
_NUMBER_MISSING = FEATURES.index("number_missing")


@dataclass(frozen=True)
class SupportModel:
    weights: tuple[float, ...]
    bias: float
    threshold: float  # a claim is supported when its best sentence scores this or more
    # The words the `negation` feature was fitted with (rag.reading.english.NEGATORS then).
    negators: frozenset[str]

    @classmethod
    def load(cls, path: Path = MODEL_PATH) -> SupportModel:
        data = json.loads(path.read_text())
        negators = frozenset(data["negators"])
        return cls(tuple(data["weights"]), data["bias"], data["threshold"], negators)

    def scores(self, features: np.ndarray) -> np.ndarray:
        """The fitted probability that each sentence supports the claim. A sentence that lacks
        a number the claim states does not support it, however close it comes otherwise."""
        if not len(features):
            return np.zeros(0)
        z = features @ np.asarray(self.weights) + self.bias
        return np.where(features[:, _NUMBER_MISSING] > 0, 0.0, 1.0 / (1.0 + np.exp(-z)))


@cache
def default_model() -> SupportModel:
    return SupportModel.load()


def features(
    claim: str,
    sentences: Sequence[str],
    headlines: Sequence[str],
    claim_vector: Sequence[float],
    sentence_vectors: Sequence[Sequence[float]],
    negators: frozenset[str] | None = None,
) -> np.ndarray:
    """One row per sentence, the columns in FEATURES order, each in [0, 1]. `negators`: the
    words the `negation` feature reads (the fitted model's when None)."""
    negators = default_model().negators if negators is None else negators

    def negated(text: str) -> bool:
        return negations(text, negators) > 0

    stems = content_stems(claim)
    claim_names = names(claim)
    claim_numbers = numbers(claim)
    claim_negated = negated(claim)
    c = np.asarray(claim_vector, dtype=float)
    rows = []
    for text, headline, vector in zip(sentences, headlines, sentence_vectors, strict=True):
        evidence = f"{headline} {text}"
        held = content_stems(evidence) | names(evidence)
        rows.append(
            [
                float(np.dot(c, np.asarray(vector, dtype=float))),
                len(stems & held) / len(stems) if stems else 0.0,
                len(claim_names & held) / len(claim_names) if claim_names else 1.0,
                float(not claim_numbers <= numbers(evidence)),
                float(claim_negated != negated(text)),
            ]
        )
    return np.asarray(rows, dtype=float).reshape(-1, len(FEATURES))
