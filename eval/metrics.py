"""Metrics: small pure functions of (gold, prediction), registered by name.

Each metric scores one question and returns a float, or None where it does not apply (citation
recall of a question to abstain on, yes/no match of a question whose answer is a name). A run's
value of a metric is an aggregate over the questions where it applies: the mean, or a
percentile for latencies. Abstention precision, say, is the mean over the questions the system
abstained on of "the gold says abstain", which is exactly TP / (TP + FP), so one uniform
aggregate and one bootstrap serve every metric.

Deterministic metrics (kind "deterministic") are kept apart from model-judged ones ("judged"):
`judge_correct` only reads a verdict the runner obtained with `eval.judge`.

Citation precision and recall follow ALCE (Gao et al., 2023, "Enabling Large Language Models to
Generate Text with Citations"), judged here against the gold evidence sentences rather than by
an NLI model: a cited sentence is relevant when its text equals, contains or is contained in a
gold sentence; recall is the share of gold sentences cited, precision the share of citations
that are gold.
"""

from __future__ import annotations

import re
import string
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from eval.sets import GoldItem

# A sentence counts as part of another only if it is this long (after normalising white space),
# so a fragment like "Yes." cannot match half the corpus.
MIN_CONTAINED_CHARS = 20
YES_NO = {"yes", "no"}
TRUTH = {"true": "yes", "false": "no"}  # a gold verdict is sometimes written so


@dataclass
class Prediction:
    """What a run recorded for one question: the answer object's fields plus retrieval."""

    text: str
    abstained: bool
    sentences: list[dict[str, Any]] = field(default_factory=list)  # {text, citations, supported}
    citations: list[dict[str, Any]] = field(default_factory=list)  # {n, article_id, text, ...}
    retrieved: list[dict[str, Any]] = field(default_factory=list)  # hits, best first
    timings: dict[str, float] = field(default_factory=dict)  # milliseconds
    judge: bool | None = None  # a model judge's verdict, when one was asked
    gold_missing: bool = False  # a gold evidence article is not in the index
    error: str | None = None  # the domain error that stopped the answer


ScoreFn = Callable[[GoldItem, Prediction], float | None]


@dataclass(frozen=True)
class Metric:
    name: str
    fn: ScoreFn
    kind: str  # "deterministic" | "judged"
    aggregate: str  # a key of AGGREGATES
    higher_is_better: bool
    unit: str  # "" for a share in [0, 1], "ms" for latencies
    group: str  # for tables: answer, citations, retrieval, abstention, latency
    description: str


METRICS: dict[str, Metric] = {}


def metric(
    name: str,
    *,
    kind: str = "deterministic",
    aggregate: str = "mean",
    higher_is_better: bool = True,
    unit: str = "",
    group: str = "answer",
    description: str | None = None,
) -> Callable[[ScoreFn], ScoreFn]:
    """Register `fn(gold, prediction) -> float | None` as metric `name`.

    The description is the function's first docstring line unless given.
    """
    if kind not in ("deterministic", "judged"):
        raise ValueError(f"metric kind must be deterministic or judged, not {kind!r}")
    if aggregate not in AGGREGATES:
        raise ValueError(f"unknown aggregate {aggregate!r}; valid: {', '.join(AGGREGATES)}")

    def register(fn: ScoreFn) -> ScoreFn:
        if name in METRICS:
            raise ValueError(f"metric {name!r} is already registered")
        doc = (fn.__doc__ or "").strip().splitlines()
        text = description if description is not None else (doc[0] if doc else "")
        METRICS[name] = Metric(name, fn, kind, aggregate, higher_is_better, unit, group, text)
        return fn

    return register


# --- aggregates (axis -1 so the bootstrap can aggregate many resamples at once) --------------
AGGREGATES: dict[str, Callable[[np.ndarray], Any]] = {
    "mean": lambda a: np.mean(a, axis=-1),
    "p50": lambda a: np.percentile(a, 50, axis=-1),
    "p95": lambda a: np.percentile(a, 95, axis=-1),
}


def aggregate(name: str, values: Iterable[float | None]) -> float | None:
    """The run's value of metric `name` over per-question values; None if none apply."""
    kept = np.array([v for v in values if v is not None], dtype=float)
    if kept.size == 0:
        return None
    return float(AGGREGATES[METRICS[name].aggregate](kept))


def score(gold: GoldItem, prediction: Prediction) -> dict[str, float | None]:
    return {name: m.fn(gold, prediction) for name, m in METRICS.items()}


# --- text ----------------------------------------------------------------------------------
_MARKERS = re.compile(r"\[\d+(?:\s*,\s*\d+)*\]")
_ARTICLES = re.compile(r"\b(a|an|the)\b")


def normalise(text: str) -> str:
    """SQuAD normalisation: lower case, no punctuation (Unicode too), no articles, one space."""
    text = unicodedata.normalize("NFKC", _MARKERS.sub(" ", text)).lower()
    text = "".join(
        " " if ch in string.punctuation or unicodedata.category(ch).startswith("P") else ch
        for ch in text
    )
    return " ".join(_ARTICLES.sub(" ", text).split())


def answer_text(prediction: Prediction) -> str:
    """The prediction without citation markers; nothing when it abstained."""
    return "" if prediction.abstained else _MARKERS.sub("", prediction.text)


def token_f1_score(prediction: str, gold: str) -> float:
    pred, ref = normalise(prediction).split(), normalise(gold).split()
    if not pred or not ref:
        return float(pred == ref)
    common = sum((Counter(pred) & Counter(ref)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(pred), common / len(ref)
    return 2 * precision * recall / (precision + recall)


def contains(prediction: str, gold: str) -> bool:
    """`gold` appears in `prediction` as whole words, after normalising both."""
    ref = normalise(gold)
    return bool(ref) and f" {ref} " in f" {normalise(prediction)} "


def yes_no(text: str) -> str | None:
    """Yes or no, when the text starts with one of them, or is "True" (yes) or "False" (no)
    alone; else None."""
    tokens = normalise(text).split()
    if not tokens:
        return None
    if tokens[0] in YES_NO:
        return tokens[0]
    return TRUTH.get(tokens[0]) if len(tokens) == 1 else None


def _plain(text: str) -> str:
    return " ".join(text.split()).strip(" -•*")


def same_sentence(a: str, b: str) -> bool:
    """Equal, or one contains the other (a splitter may cut a gold sentence in two)."""
    a, b = _plain(a), _plain(b)
    if a == b:
        return bool(a)
    short, long = sorted((a, b), key=len)
    return len(short) >= MIN_CONTAINED_CHARS and short in long


def _matches(sentence: str, gold: Sequence[str]) -> bool:
    return any(same_sentence(sentence, g) for g in gold)


# --- answer correctness --------------------------------------------------------------------
def _answerable(gold: GoldItem) -> bool:
    return not gold.abstain


@metric("correct")
def correct(gold: GoldItem, prediction: Prediction) -> float | None:
    """Headline verdict: abstained if it should; else yes/no match or the answer contained."""
    if gold.abstain:
        return float(prediction.abstained)
    if prediction.abstained:
        return 0.0
    if yes_no(gold.answer) is not None:
        return yes_no_match(gold, prediction)
    return answer_contains(gold, prediction)


@metric("exact_match")
def exact_match(gold: GoldItem, prediction: Prediction) -> float | None:
    """Normalised prediction equals the answer or an alias."""
    if not _answerable(gold):
        return None
    text = normalise(answer_text(prediction))
    return float(any(text == normalise(a) for a in gold.answers))


@metric("token_f1")
def token_f1(gold: GoldItem, prediction: Prediction) -> float | None:
    """Token F1 of prediction and answer (SQuAD), best over answer and aliases."""
    if not _answerable(gold):
        return None
    return max(token_f1_score(answer_text(prediction), a) for a in gold.answers)


@metric("answer_contains")
def answer_contains(gold: GoldItem, prediction: Prediction) -> float | None:
    """The answer or an alias appears in the prediction (ALCE's string EM, one answer)."""
    if not _answerable(gold):
        return None
    text = answer_text(prediction)
    return float(any(contains(text, a) for a in gold.answers))


@metric("yes_no_match")
def yes_no_match(gold: GoldItem, prediction: Prediction) -> float | None:
    """For a yes/no gold answer: the prediction starts with the same yes or no."""
    expected = yes_no(gold.answer)
    if gold.abstain or expected is None:
        return None
    return float(yes_no(answer_text(prediction)) == expected)


@metric("judge_correct", kind="judged")
def judge_correct(gold: GoldItem, prediction: Prediction) -> float | None:
    """A model judge's verdict on free-text correctness (only with --judge)."""
    if gold.abstain or prediction.judge is None:
        return None  # abstention is scored without a model; None also = not judged
    return float(prediction.judge)


# --- citations (ALCE, against gold sentences) ----------------------------------------------
def _scorable(gold: GoldItem, prediction: Prediction) -> bool:
    return bool(gold.evidence) and not gold.abstain and not prediction.gold_missing


@metric("citation_recall", group="citations")
def citation_recall(gold: GoldItem, prediction: Prediction) -> float | None:
    """Share of gold evidence sentences that the answer cites."""
    if not _scorable(gold, prediction):
        return None
    cited = [c["text"] for c in prediction.citations]
    found = sum(_matches(e.sentence, cited) for e in gold.evidence)
    return found / len(gold.evidence)


@metric("citation_precision", group="citations")
def citation_precision(gold: GoldItem, prediction: Prediction) -> float | None:
    """Share of the answer's citations that are gold evidence sentences."""
    if not _scorable(gold, prediction) or not prediction.citations:
        return None
    evidence = [e.sentence for e in gold.evidence]
    return sum(_matches(c["text"], evidence) for c in prediction.citations) / len(
        prediction.citations
    )


@metric("supported_rate", group="citations")
def supported_rate(gold: GoldItem, prediction: Prediction) -> float | None:
    """Share of the answer's sentences that passed the support check."""
    if not prediction.sentences:
        return None
    return sum(bool(s["supported"]) for s in prediction.sentences) / len(prediction.sentences)


# --- retrieval (the top-k hits recorded beside the answer) ----------------------------------
def _hit_sentences(hit: dict[str, Any]) -> list[str]:
    return [s["text"] for s in hit.get("sentences", [])]


@metric("evidence_recall@k", group="retrieval")
def evidence_recall(gold: GoldItem, prediction: Prediction) -> float | None:
    """Share of gold evidence sentences inside the top-k retrieved chunks."""
    if not _scorable(gold, prediction):
        return None
    retrieved = [t for hit in prediction.retrieved for t in _hit_sentences(hit)]
    return sum(_matches(e.sentence, retrieved) for e in gold.evidence) / len(gold.evidence)


@metric("evidence_mrr@k", group="retrieval")
def evidence_mrr(gold: GoldItem, prediction: Prediction) -> float | None:
    """1 / rank of the first retrieved chunk holding a gold sentence (0 if none in top k)."""
    if not _scorable(gold, prediction):
        return None
    evidence = [e.sentence for e in gold.evidence]
    for rank, hit in enumerate(prediction.retrieved, start=1):
        if any(_matches(t, evidence) for t in _hit_sentences(hit)):
            return 1.0 / rank
    return 0.0


@metric("article_recall@k", group="retrieval")
def article_recall(gold: GoldItem, prediction: Prediction) -> float | None:
    """Share of gold evidence articles among the top-k retrieved chunks' articles."""
    if not _scorable(gold, prediction):
        return None
    found = {hit["article_id"] for hit in prediction.retrieved}
    articles = gold.evidence_articles
    return sum(a in found for a in articles) / len(articles)


# --- abstention (positive = abstained) -------------------------------------------------------
@metric("abstention_precision", group="abstention")
def abstention_precision(gold: GoldItem, prediction: Prediction) -> float | None:
    """Of the questions it abstained on, the share it should have (TP / (TP + FP))."""
    return float(gold.abstain) if prediction.abstained else None


@metric("abstention_recall", group="abstention")
def abstention_recall(gold: GoldItem, prediction: Prediction) -> float | None:
    """Of the questions it should abstain on, the share it did (TP / (TP + FN))."""
    return float(prediction.abstained) if gold.abstain else None


# --- latency (per-question milliseconds; the run's value is a percentile) ---------------------
def total_ms(gold: GoldItem, prediction: Prediction) -> float | None:
    """Time to the whole answer (ms)."""
    return prediction.timings.get("total_ms")


def ttft_ms(gold: GoldItem, prediction: Prediction) -> float | None:
    """Time to the first answer token (ms)."""
    # An answer that abstained before generating has no first token: the user sees the whole
    # (abstaining) answer at total_ms, so that is its time to first output.
    return prediction.timings.get("ttft_ms", prediction.timings.get("total_ms"))


for _name, _fn, _aggregate, _what in (
    ("latency_p50", total_ms, "p50", "Median time to the whole answer (ms)."),
    ("latency_p95", total_ms, "p95", "95th percentile of time to the whole answer (ms)."),
    ("ttft_p50", ttft_ms, "p50", "Median time to the first answer token (ms)."),
    ("ttft_p95", ttft_ms, "p95", "95th percentile of time to the first answer token (ms)."),
):
    metric(
        _name,
        aggregate=_aggregate,
        higher_is_better=False,
        unit="ms",
        group="latency",
        description=_what,
    )(_fn)
