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

from rag.text import content_stems, names, numbers, words

MODEL_PATH = Path(__file__).with_name("support_model.json")
FEATURES = ("similarity", "content", "names", "number_missing", "negation")
_NUMBER_MISSING = FEATURES.index("number_missing")
# The words that negate a clause in the support model's `negation` feature (fitted with it).
_NEGATORS = frozenset(["not", "no", "never", "none", "neither", "nor", "without", "n't"])


@dataclass(frozen=True)
class SupportModel:
    weights: tuple[float, ...]
    bias: float
    threshold: float  # a claim is supported when its best sentence scores this or more

    @classmethod
    def load(cls, path: Path = MODEL_PATH) -> SupportModel:
        data = json.loads(path.read_text())
        return cls(tuple(data["weights"]), data["bias"], data["threshold"])

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


def _negated(text: str) -> bool:
    return any(w in _NEGATORS or w.endswith("n't") for w in words(text))


def features(
    claim: str,
    sentences: Sequence[str],
    headlines: Sequence[str],
    claim_vector: Sequence[float],
    sentence_vectors: Sequence[Sequence[float]],
) -> np.ndarray:
    """One row per sentence, the columns in FEATURES order, each in [0, 1]."""
    stems = content_stems(claim)
    claim_names = names(claim)
    claim_numbers = numbers(claim)
    claim_negated = _negated(claim)
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
                float(claim_negated != _negated(text)),
            ]
        )
    return np.asarray(rows, dtype=float).reshape(-1, len(FEATURES))
