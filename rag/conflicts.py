"""Reports that differ: two outlets' sentences on one matter that give it different values.

An answer's cited sentence and another sentence of the articles its context reads, from
another outlet, are read as reports on the same matter when, with their values masked (spaCy's
entities), the embedder finds them close. They differ when each gives a value of the kind the
question asks for (a count or amount, a name, a time) and the two share none, or when one is
negated and the other is not. Who is quoted ("..., the union said", "according to ...") is the
attribution, not the report: values there are left out. The answer then shows both sides, each
attributed to its outlet and date, and does not pick one.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from rag.context import ContextSentence
from rag.question import COUNT, NAME, TIME, YESNO, parser

NUMBER, NAMED, WHEN = "number", "name", "time"
# What a value is masked with before two sentences are compared: a word of its kind.
PLACEHOLDER = {NUMBER: "several", NAMED: "someone", WHEN: "sometime"}
# The kinds of value compared for each kind of question: amounts always (a figure two
# reports give differently is news in itself), and what the question asks for.
COMPARED = {
    COUNT: frozenset({NUMBER}),
    NAME: frozenset({NUMBER, NAMED}),
    TIME: frozenset({NUMBER, WHEN}),
    YESNO: frozenset({NUMBER}),
}
SAME_MATTER = 0.6  # cosine of the masked sentences (all-MiniLM-L6-v2)

Embed = Callable[[list[str]], list[list[float]]]


@dataclass
class Report:
    item: ContextSentence
    masked: str
    values: dict[str, set[str]]  # kind of value -> normalised values, outside the attribution
    negated: bool


@dataclass
class Conflict:
    sides: tuple[ContextSentence, ContextSentence]
    reason: str  # "values" or "negation"


def read(item: ContextSentence) -> Report:
    doc = parser()(item.sentence.text)
    speaker = _attribution(doc)
    values: dict[str, set[str]] = {}
    masked = item.sentence.text
    for ent in reversed(doc.ents):
        kind = _kind(ent)
        masked = masked[: ent.start_char] + PLACEHOLDER[kind] + masked[ent.end_char :]
        if not any(t.i in speaker for t in ent):
            values.setdefault(kind, set()).add(_normal(ent.text))
    negated = any(t.dep_ == "neg" and t.i not in speaker for t in doc) or any(
        t.dep_ == "det" and t.lower_ == "no" and t.head.dep_ in ("nsubj", "nsubjpass", "dobj")
        for t in doc
    )
    return Report(item, masked, values, negated)


def find_conflicts(
    kind: str, cited: Sequence[ContextSentence], context: Sequence[ContextSentence], embed: Embed
) -> list[Conflict]:
    """Each cited sentence against the other cited sentences and the rest of the context, of
    other articles: at most one conflict for each sentence."""
    cited_ids = {c.sentence.id for c in cited}
    others = [c for c in context if c.sentence.id not in cited_ids]
    if not cited or len(cited) + len(others) < 2:
        return []
    reports = [read(c) for c in [*cited, *others]]
    vectors = np.asarray(embed([r.masked for r in reports]), dtype=np.float32)
    labels = COMPARED.get(kind, frozenset({NUMBER, NAMED}))
    found: list[Conflict] = []
    paired: set[str] = set()
    for i in range(len(cited)):
        a = reports[i]
        if a.item.sentence.id in paired:
            continue
        for j in range(i + 1, len(reports)):
            b = reports[j]
            if not _other_outlet(a.item, b.item) or b.item.sentence.id in paired:
                continue
            if float(vectors[i] @ vectors[j]) < SAME_MATTER:
                continue
            reason = _differ(a, b, labels)
            if reason:
                found.append(Conflict((a.item, b.item), reason))
                paired |= {a.item.sentence.id, b.item.sentence.id}
                break
    return found


def _other_outlet(a: ContextSentence, b: ContextSentence) -> bool:
    """Reports from two sources: another article, from another outlet where both are known
    (an outlet's later article on the same matter updates its earlier one)."""
    if a.article_id == b.article_id:
        return False
    return a.source is None or b.source is None or a.source != b.source


def _differ(a: Report, b: Report, labels: frozenset[str]) -> str | None:
    for label in labels:
        if a.values.get(label) and b.values.get(label) and not a.values[label] & b.values[label]:
            return "values"
    if a.negated != b.negated:
        return "negation"
    return None


def _attribution(doc) -> set[int]:  # type: ignore[no-untyped-def]
    """Token positions of who is quoted: the subject of a verb that reports a clause ("X
    happened, the union said"; "Police said X") and the object of "according to"."""
    out: set[int] = set()
    for token in doc:
        verb = token.head
        reports = verb.dep_ == "parataxis" or any(c.dep_ == "ccomp" for c in verb.children)
        if token.dep_ == "nsubj" and reports:
            out |= {t.i for t in token.subtree}
        if token.dep_ == "pobj" and token.head.head.lower_ == "according":
            out |= {t.i for t in token.subtree}
    return out


def _kind(ent) -> str:  # type: ignore[no-untyped-def]
    if ent.label_ in ("DATE", "TIME"):
        return WHEN
    if ent.label_ in ("CARDINAL", "QUANTITY", "MONEY", "PERCENT") or any(t.like_num for t in ent):
        return NUMBER
    return NAMED


def _normal(text: str) -> str:
    digits = re.sub(r"[^\d.]", "", text)
    return digits.strip(".") or text.lower().removeprefix("the ")
