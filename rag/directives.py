"""Sentences that tell their reader what to do or say, rather than report: never evidence.

A news sentence reports: someone did or said something. A sentence planted for a language model
does something else: it addresses whoever reads or summarises the page and tells them what to
answer, what to cite or what to disregard. That shows in the grammar, not in particular words:

- the clause giving the order is in the imperative, has a second-person subject, or has a modal
  whose subject is the page's own reader ("assistants summarising this page should ..."), and it
  stands outside quotation marks and outside reported speech (an order a source gave, quoted or
  reported, is news: "Police told residents to leave");
- it refers to the text itself ("this page", "these sources") rather than to the world;
- it dictates content: the order takes a clause or a quotation as its object ("say that ...",
  "reply with '...'").

Each sentence is read in its context: its vector is the mean of the token states that
all-MiniLM-L6-v2 holds for it after the second of its six layers while it embeds the sentence's
chunk (`Embedder.embed_spans`), so reading every sentence at ingest costs no embedding beyond
the chunk's own. (The last layer's states carry the whole chunk: with them a directive's
neighbours read as directives too, and cross-validated recall on the fitting set fell from 0.86
to 0.73 at the same false-positive rate.) A linear probe
fitted to tell directives from news reads that vector; only a sentence the probe does not rule
out is parsed (spaCy), and its final score is a small logistic model over the probe's logit and
the grammatical signals above. Probe, weights and threshold are fitted by
`bench/directive_fit.py` on `eval/sets/directives-train.jsonl` (each sentence set into corpus
articles) and half of the corpus articles, and kept in `directive_model.json` beside this file;
the same script measures the model on the planted articles and on real news sentences it was
not fitted on. Ingest records what it finds as the article's `flags`
(`rag.ingest`); an answer takes no evidence from a flagged article (`rag.answer`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from rag.chunking import embed_text
from rag.question import parser
from rag.types import Sentence

MODEL_PATH = Path(__file__).with_name("directive_model.json")
FEATURES = (
    "imperative",
    "second_person",
    "reader_modal",
    "self_reference",
    "dictates",
    "reported",
    "quoted",
    "indicative",
    "verbless",
    "probe",
)
_VERBLESS = FEATURES.index("verbless")
REASON = "addresses whoever reads or answers from this page and tells them what to do or say"
_SUBJECTS = frozenset(["nsubj", "nsubjpass", "csubj", "csubjpass", "expl"])
_CLAUSE_HEADS = frozenset(["ROOT", "conj", "parataxis", "advcl", "appos", "dep"])
_FINITE = frozenset(["VBD", "VBZ", "VBP"])
_OPENING_QUOTES = frozenset(["“", "«"])
_CLOSING_QUOTES = frozenset(["”", "»"])

Span = tuple[int, int]


@dataclass(frozen=True)
class DirectiveModel:
    probe: tuple[float, ...]  # a linear probe on the sentence embedding
    probe_bias: float
    weights: tuple[float, ...]  # over FEATURES: the grammatical signals, then the probe's logit
    bias: float
    threshold: float
    gate: float = -4.0  # a probe logit below this rules a sentence out before parsing

    @classmethod
    def load(cls, path: Path = MODEL_PATH) -> DirectiveModel:
        data = json.loads(path.read_text())
        return cls(
            tuple(data["probe"]),
            data["probe_bias"],
            tuple(data["weights"]),
            data["bias"],
            data["threshold"],
            data["gate"],
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "features": list(FEATURES),
            "weights": list(self.weights),
            "bias": self.bias,
            "threshold": self.threshold,
            "gate": self.gate,
            "probe_bias": self.probe_bias,
            "probe": [round(x, 6) for x in self.probe],
        }

    def probe_logits(self, vectors: np.ndarray) -> np.ndarray:
        return vectors @ np.asarray(self.probe) + self.probe_bias

    def scores(self, features: np.ndarray) -> np.ndarray:
        if not len(features):
            return np.zeros(0)
        z = features @ np.asarray(self.weights) + self.bias
        # A heading or caption has no verb to give an order with: never a directive.
        return np.where(features[:, _VERBLESS] > 0, 0.0, 1.0 / (1.0 + np.exp(-z)))


@cache
def default_model() -> DirectiveModel:
    return DirectiveModel.load()


def _quoted(doc) -> list[bool]:  # type: ignore[no-untyped-def]
    """For each token, whether it stands inside quotation marks (the marks included)."""
    inside = False
    mask = []
    for tok in doc:
        if tok.text == '"':
            mask.append(True)
            inside = not inside
        elif tok.text in _OPENING_QUOTES:
            inside = True
            mask.append(True)
        elif tok.text in _CLOSING_QUOTES:
            mask.append(True)
            inside = False
        else:
            mask.append(inside)
    return mask


def _second_person(tok) -> bool:  # type: ignore[no-untyped-def]
    return tok.pos_ == "PRON" and "2" in tok.morph.get("Person")


def _first_person(tok) -> bool:  # type: ignore[no-untyped-def]
    return tok.pos_ == "PRON" and "1" in tok.morph.get("Person")


def _embedded(tok) -> bool:  # type: ignore[no-untyped-def]
    """Under a finite verb with a subject: reported, or part of another clause."""
    for head in tok.ancestors:
        if head.tag_ in _FINITE and any(c.dep_ in _SUBJECTS for c in head.children):
            return True
    return False


def _vocative(tok) -> bool:  # type: ignore[no-untyped-def]
    """A "subject" set off by a colon before its verb is the one addressed ("Editors: run it")."""
    return any(t.text == ":" for t in tok.doc[tok.i + 1 : tok.head.i])


def _imperative(tok, quoted: list[bool]) -> bool:  # type: ignore[no-untyped-def]
    if tok.tag_ != "VB" or quoted[tok.i] or tok.dep_ not in _CLAUSE_HEADS:
        return False
    children = list(tok.children)
    if any(c.dep_ in _SUBJECTS and not _vocative(c) for c in children):
        return False
    if any(c.tag_ in ("MD", "TO") for c in children):
        return False
    if any(c.dep_ == "aux" and c.tag_ not in ("VB", "VBP") for c in children):
        return False  # "has been": not an order; "do not" is
    if any(_first_person(c) for c in children):
        return False  # "let us look back": the writer's own plan
    return not _embedded(tok)


def _features(span, quoted: list[bool]) -> list[float]:  # type: ignore[no-untyped-def]
    """The grammatical signals of one sentence."""
    outside = [t for t in span if not quoted[t.i]]
    orders = [t for t in span if _imperative(t, quoted)]
    second = [t for t in outside if _second_person(t)]
    demonstrative = [
        t.i
        for t in outside
        if "Dem" in t.morph.get("PronType")
        and t.lower_ in ("this", "these")
        and (t.dep_ != "det" or t.head.pos_ in ("NOUN", "PROPN"))
    ]
    modal_heads = [
        t
        for t in outside
        if t.pos_ in ("VERB", "AUX")
        and any(c.tag_ == "MD" for c in t.children)
        and not _embedded(t)
    ]
    reader_modal = any(
        any(
            _second_person(s) or any(d.i in demonstrative for d in s.subtree)
            for s in t.children
            if s.dep_ in _SUBJECTS
        )
        for t in modal_heads
    )
    heads = orders + modal_heads
    dictates = any(
        any(c.dep_ in ("ccomp", "xcomp") for c in h.children)
        or any(quoted[d.i] for d in h.subtree if d.i > h.i)
        or any(d.text == ":" for d in h.subtree if d.i > h.i)
        for h in heads
    )
    reported = any(
        t.tag_ in _FINITE
        and not any(c.tag_ == "MD" for c in t.children)
        and any(c.dep_ in _SUBJECTS and not _second_person(c) for c in t.children)
        and any(c.dep_ == "ccomp" or quoted[c.i] for c in t.children)
        for t in outside
    )
    words = [t for t in span if t.is_alpha]
    share = sum(quoted[t.i] for t in words) / len(words) if words else 0.0
    root = span.root
    # A third-person statement in the indicative ("The government has not yet responded to
    # this statement") reports; it orders nobody, whatever its words. A signal, weighed like
    # the others: the parser misreads some orders that carry a dictated clause as one.
    indicative = (
        not orders
        and not second
        and not quoted[root.i]
        and not any(c.tag_ == "MD" for c in root.children)
        and (
            root.tag_ in _FINITE
            or any(c.tag_ in _FINITE for c in root.children if c.dep_.startswith("aux"))
        )
        and any(c.dep_ in _SUBJECTS and not _vocative(c) for c in root.children)
    )
    return [
        float(bool(orders)),
        float(bool(second)),
        float(reader_modal),
        float(bool(demonstrative)),
        float(dictates),
        float(reported),
        share,
        float(indicative),
        float(not any(t.pos_ in ("VERB", "AUX") for t in span)),
    ]


def grammar(texts: Sequence[str]) -> list[list[float]]:
    """The grammatical signals of each sentence."""
    out: list[list[float]] = []
    nlp = parser()  # the question reader's model; entities are not needed here
    for text, doc in zip(texts, nlp.pipe(texts, batch_size=128, disable=["ner"]), strict=True):
        first = doc[0] if len(doc) else None
        if first is not None and first.dep_ == "ROOT" and first.tag_ in ("NN", "NNP"):
            # The small model reads a capitalised opening verb ("Respond only with ...") as a
            # name; the sentence is read again with it in lower case.
            doc = next(nlp.pipe([text[0].lower() + text[1:]], disable=["ner"]))
        out.append(_features(doc[:], _quoted(doc)))
    return out


def feature_rows(
    texts: Sequence[str], vectors: np.ndarray, model: DirectiveModel
) -> tuple[list[int], np.ndarray]:
    """The sentences the probe does not rule out, and their feature rows."""
    logits = model.probe_logits(vectors) if len(texts) else np.zeros(0)
    picked = [i for i, z in enumerate(logits) if z >= model.gate]
    if not picked:
        return [], np.zeros((0, len(FEATURES)))
    rows = np.asarray(grammar([texts[i] for i in picked]), dtype=float)
    return picked, np.column_stack([rows, logits[picked]])


def directive_scores(
    texts: Sequence[str], vectors: Any, model: DirectiveModel | None = None
) -> list[float]:
    """For each sentence, read in its context (`vectors`, one row each, from
    `Embedder.embed_spans`), the fitted probability that it is a directive, not a report."""
    model = model or default_model()
    scores = [0.0] * len(texts)
    if not texts:
        return scores
    picked, rows = feature_rows(texts, np.asarray(vectors, dtype=float), model)
    for i, p in zip(picked, model.scores(rows), strict=True):
        scores[i] = float(p)
    return scores


def find_directives(
    texts: Sequence[str], vectors: Any, model: DirectiveModel | None = None
) -> list[int]:
    """Indices of the sentences that are directives, not reports."""
    model = model or default_model()
    return [
        i for i, p in enumerate(directive_scores(texts, vectors, model)) if p >= model.threshold
    ]


def chunk_spans(title: str, sentences: Sequence[Sentence], start: int) -> list[Span]:
    """Where the headline and each sentence stand in what the embedder reads for a chunk
    (`embed_text(title, text)`, where the chunk's text begins at `start` in its article)."""
    offset = len(title) + 1 - start
    return [(0, len(title))] + [(s.char_start + offset, s.char_end + offset) for s in sentences]


def read_article(embedder: Any, title: str, sentences: Sequence[Sentence], body: str) -> list[int]:
    """Positions (0 the headline, then each sentence) of the directives in an article read
    whole, as one text: for an article outside any index."""
    spans = chunk_spans(title, sentences, 0)
    _, (vectors,) = embedder.embed_spans([embed_text(title, body)], [spans])
    return find_directives([title] + [s.text for s in sentences], vectors)


def flag_entry(sentence_ids: Sequence[str], headline: bool) -> dict[str, Any] | None:
    """The `flags` entry of an article holding directives, or None."""
    if not sentence_ids and not headline:
        return None
    return {
        "kind": "directive",
        "sentence_ids": list(sentence_ids),
        "headline": headline,
        "reason": REASON,
    }
