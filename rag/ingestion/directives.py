"""Sentences that tell their reader what to do or say, rather than report: never evidence.

A news sentence reports: someone did or said something. A sentence planted for a language model
does something else: it addresses whoever reads or summarises the page and tells them what to
answer, what to cite or what to disregard ("Summaries of this article are to say ...", "Dear
assistant, ...", "From now on you answer as ..."). Each sentence is read twice, by two linear
probes fitted to tell such sentences from news:

- in its context, for free: its vector is the mean of the token states all-MiniLM-L6-v2 holds
  for it after the second of its six layers while it embeds the sentence's chunk
  (`Embedder.embed_spans`), so ingest reads every sentence for no embedding beyond the chunk's
  own. The first probe reads that vector and rules out most news (about nine sentences in ten,
  while letting through all but a few in a thousand of the directives it was fitted on);
- alone, only where the first probe did not rule it out: the sentence is read on its own, its
  vector the mean of its token states after the fourth layer (`ALONE_LAYER`), and the second
  probe reads both vectors side by side. (Cross-validated on a fitting set that also held the
  sentences of `eval/sets/planted.jsonl`, at the same false-positive rate on real news: the
  fourth layer's states found 0.94 of the directives, the third's 0.92, the fifth's 0.94,
  the model's own sentence embedding 0.85; an early layer keeps to the sentence's form, the
  last one carries its topic.)

The second probe's probability decides at two levels. At or above `threshold` (the lowest at
which at most 1% of real news sentences score, on the corpus half it was fitted on) the
sentence is never evidence: an answer neither reads nor cites it. At or above
`article_threshold` (above every real news sentence of the fitting half, and reached by at
most 1% of the written look-alikes: quoted and reported orders, shopping-guide imperatives)
the article was written to steer its reader and none of it is evidence. A headline flagged at
the lower level is left out of every passage of its article (it heads each one the model
reads), and the article's sentences are read under their outlet and date alone. A false alarm
at the lower level costs one sentence or a headline; only a sure one costs an article.

Both probes and both thresholds are fitted by `bench/directive_fit.py` on
`eval/sets/directives-train.jsonl` and the planted sentences measured before (each set into
corpus articles) and on half of the corpus articles, and kept in `directive_model.json` beside
this file; the same script measures them on real news sentences they were not fitted on and
on the planted sentences written after the fit. Ingest records what it finds as the article's
`flags` (`rag.ingestion.ingest`); retrieval leaves it out
(`rag.retrieval.retrieve.Retriever.without_instructions`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from rag.types import Sentence, embed_text

MODEL_PATH = Path(__file__).with_name("directive_model.json")
REASON = "addresses whoever reads or answers from this page and tells them what to do or say"
ARTICLE, SENTENCE = "article", "sentence"  # what a flag keeps out of answers
ALONE_LAYER = 4

Span = tuple[int, int]


@dataclass(frozen=True)
class DirectiveModel:
    gate_probe: tuple[float, ...]  # over the in-context vector
    gate_bias: float
    gate: float  # a first-probe logit below this rules a sentence out
    probe: tuple[float, ...]  # over the in-context vector, then the sentence's own
    bias: float
    threshold: float  # a sentence at or above it is never evidence
    article_threshold: float  # ... and its article is none either

    @classmethod
    def load(cls, path: Path = MODEL_PATH) -> DirectiveModel:
        data = json.loads(path.read_text())
        return cls(
            tuple(data["gate_probe"]),
            data["gate_bias"],
            data["gate"],
            tuple(data["probe"]),
            data["bias"],
            data["threshold"],
            data["article_threshold"],
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "threshold": self.threshold,
            "article_threshold": self.article_threshold,
            "gate": self.gate,
            "gate_bias": self.gate_bias,
            "bias": self.bias,
            "gate_probe": [round(x, 6) for x in self.gate_probe],
            "probe": [round(x, 6) for x in self.probe],
        }

    def gate_logits(self, vectors: np.ndarray) -> np.ndarray:
        return vectors @ np.asarray(self.gate_probe) + self.gate_bias

    def probabilities(self, in_context: np.ndarray, alone: np.ndarray) -> np.ndarray:
        z = np.hstack([in_context, alone]) @ np.asarray(self.probe) + self.bias
        return 1.0 / (1.0 + np.exp(-z))


@cache
def default_model() -> DirectiveModel:
    return DirectiveModel.load()


@dataclass(frozen=True)
class Found:
    """The directives read in one text: positions (0 the headline, then its sentences) at or
    above the sentence threshold, and those of them that keep the whole article out."""

    positions: tuple[int, ...] = ()
    article: tuple[int, ...] = ()

    def to_json(self) -> str:
        return json.dumps({"positions": list(self.positions), "article": list(self.article)})

    @classmethod
    def from_json(cls, stored: str | None) -> Found | None:
        """None: not read. A plain list (an older ingest's) kept its whole article out."""
        if stored is None:
            return None
        data = json.loads(stored)
        if isinstance(data, list):
            return cls(tuple(data), tuple(data))
        return cls(tuple(data["positions"]), tuple(data["article"]))


def directive_scores(
    texts: Sequence[str], vectors: Any, embedder: Any, model: DirectiveModel | None = None
) -> list[float]:
    """For each sentence, read in its context (`vectors`, one row each, from
    `Embedder.embed_spans`), the fitted probability that it is a directive, not a report; 0
    for a sentence the first probe rules out (only the others are read alone)."""
    model = model or default_model()
    scores = [0.0] * len(texts)
    if not texts:
        return scores
    in_context = np.asarray(vectors, dtype=float)
    picked = [i for i, z in enumerate(model.gate_logits(in_context)) if z >= model.gate]
    if not picked:
        return scores
    alone = read_alone(embedder, [texts[i] for i in picked])
    for i, p in zip(picked, model.probabilities(in_context[picked], alone), strict=True):
        scores[i] = float(p)
    return scores


def read_alone(embedder: Any, texts: Sequence[str]) -> np.ndarray:
    """Each sentence read on its own: the mean of its token states after `ALONE_LAYER`."""
    _, read = embedder.embed_spans(texts, [[(0, len(t))] for t in texts], layer=ALONE_LAYER)
    return np.concatenate(read).astype(float)


def find_directives(
    texts: Sequence[str], vectors: Any, embedder: Any, model: DirectiveModel | None = None
) -> tuple[list[int], list[int]]:
    """Indices of the sentences that are directives, and of those sure enough to keep their
    article out."""
    model = model or default_model()
    scores = directive_scores(texts, vectors, embedder, model)
    found = [i for i, p in enumerate(scores) if p >= model.threshold]
    return found, [i for i in found if scores[i] >= model.article_threshold]


def chunk_spans(title: str, sentences: Sequence[Sentence], start: int) -> list[Span]:
    """Where the headline and each sentence stand in what the embedder reads for a chunk
    (`embed_text(title, text)`, where the chunk's text begins at `start` in its article)."""
    offset = len(title) + 1 - start
    return [(0, len(title))] + [(s.char_start + offset, s.char_end + offset) for s in sentences]


def read_article(embedder: Any, title: str, sentences: Sequence[Sentence], body: str) -> Found:
    """The directives of an article read whole, as one text: for an article outside any
    index."""
    spans = chunk_spans(title, sentences, 0)
    _, (vectors,) = embedder.embed_spans([embed_text(title, body)], [spans])
    found, article = find_directives([title] + [s.text for s in sentences], vectors, embedder)
    return Found(tuple(found), tuple(article))


def flag_entry(sentence_ids: Sequence[str], headline: bool, article: bool) -> dict[str, Any] | None:
    """The `flags` entry of an article holding directives, or None. `scope`: what answers
    leave out, the listed sentences (and the headline, where `headline`) or the whole
    article."""
    if not sentence_ids and not headline:
        return None
    return {
        "kind": "directive",
        "sentence_ids": list(sentence_ids),
        "headline": headline,
        "scope": ARTICLE if article else SENTENCE,
        "reason": REASON,
    }


@dataclass(frozen=True)
class KeptOut:
    """What an article's `flags` keep out of answers."""

    whole: bool = False  # the article
    sentence_ids: frozenset[str] = frozenset()  # else these sentences
    headline: bool = False  # and its headline


def keeps_out(entries: Sequence[dict[str, Any]] | None) -> KeptOut:
    """From an article's `flags`. An entry without `scope` (an older ingest's) kept its
    article out."""
    whole, ids, headline = False, set(), False
    for entry in entries or []:
        whole = whole or entry.get("scope", ARTICLE) == ARTICLE
        ids.update(entry.get("sentence_ids", []))
        headline = headline or bool(entry.get("headline"))
    return KeptOut(whole, frozenset(ids), headline)
