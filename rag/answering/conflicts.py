"""Reports that differ: two outlets' sentences on one matter that give it different values.

An answer's cited sentence (or, where the answer abstains, the context sentences closest to the
question) and another sentence of the articles its context reads, from another outlet and
published within days of it, are read as reports on the same matter when the embedder finds
them close: as written with their values masked (spaCy's entities), without who said them,
and under their headlines. They differ when each gives a value of the kind the question asks
for (an amount always, a name of the same kind for who/which/where, a time for when) and the
two share none; for a yes/no question, when one is negated and the other is not, or when a
language model, asked which answer each sentence gives, reads "yes" in one and "no" in the
other. Who is quoted ("..., the union said", "according to ...") is the attribution, not the
report: values there are left out. The answer then shows both sides, each attributed to its
outlet and date, and does not pick one.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from rag.answering.answer_types import Answer, AnswerSentence, Citation
from rag.answering.context import ContextSentence
from rag.answering.parts import attribution
from rag.answering.prompts import REPORTS_DIFFER
from rag.answering.stage import CLOSEST
from rag.reading.english import negates, parser
from rag.reading.question import COUNT, NAME, TIME, YESNO

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
REPORT_DAYS = 7  # how far apart two outlets' reports of one moment are published, at most
SAME_MATTER = 0.6  # cosine of the masked sentences (all-MiniLM-L6-v2)

# Pairs of reports on one matter whose answers to a yes/no question a judge reads, at most:
# each costs a short model call.
JUDGED = 4

Embed = Callable[[list[str]], list[list[float]]]
Judge = Callable[[str], str | None]  # a sentence -> "yes", "no" or None (it does not say)


@dataclass
class Report:
    item: ContextSentence
    masked: str  # the sentence with its values masked
    report: str  # and without its attribution
    values: dict[str, set[str]]  # kind of value -> normalised values, outside the attribution
    negated: bool


@dataclass
class Conflict:
    sides: tuple[ContextSentence, ContextSentence]
    reason: str  # "values" or "negation"


def read(item: ContextSentence, doc: Any = None) -> Report:
    """`doc`: spaCy's parse of the sentence, where it was parsed with others."""
    doc = doc if doc is not None else parser()(item.sentence.text)
    speaker = _attribution(doc)
    values: dict[str, set[str]] = {}
    masks: dict[int, tuple[int, str]] = {}  # entity start -> (end, placeholder)
    for ent in doc.ents:
        kind = _kind(ent)
        masks[ent.start] = (ent.end, PLACEHOLDER[kind])
        if kind == NUMBER and not _amount(ent):
            continue
        if not any(t.i in speaker for t in ent):
            # A name differs from a name of its own kind: a person from a person, a place
            # from a place ("Swift" and "Buenos Aires" are no two accounts of one thing).
            label = f"{NAMED}:{ent.label_}" if kind == NAMED else kind
            values.setdefault(label, set()).add(_normal(ent.text))
    pieces: list[str] = []
    i = 0
    while i < len(doc):
        if i in masks:
            end, placeholder = masks[i]
            if not any(j in speaker for j in range(i, end)):
                pieces.append(placeholder + doc[end - 1].whitespace_)
            i = end
            continue
        if i not in speaker:
            pieces.append(doc[i].text_with_ws)
        i += 1
    report = re.sub(r"\s+([,.;:!?])", r"\1", "".join(pieces))
    report = re.sub(r"([,;:])+(?=[,.;:!?]|\s*$)", "", report).strip(" ,;:")
    masked = item.sentence.text
    for ent in reversed(doc.ents):
        masked = masked[: ent.start_char] + PLACEHOLDER[_kind(ent)] + masked[ent.end_char :]
    negated = negates(doc, outside=speaker)
    return Report(item, masked, report or masked, values, negated)


def find_conflicts(
    kind: str,
    cited: Sequence[ContextSentence],
    context: Sequence[ContextSentence],
    embed: Embed,
    judge: Judge | None = None,
) -> list[Conflict]:
    """Each cited sentence against the other cited sentences and the rest of the context, of
    other articles: at most one conflict for each sentence. `judge`, where a language model
    can give one, reads the answer each of two reports gives a yes/no question: reports on one
    matter that answer it differently differ, whatever their words ("approved" and
    "rejected")."""
    cited_ids = {c.sentence.id for c in cited}
    # Only another outlet's report of the same days can differ from a cited one.
    others = [
        c
        for c in context
        if c.sentence.id not in cited_ids and any(_other_outlet(a, c) for a in cited)
    ]
    if not cited or len(cited) + len(others) < 2:
        return []
    items = [*cited, *others]
    docs = parser().pipe(c.sentence.text for c in items)
    reports = [read(c, d) for c, d in zip(items, docs, strict=True)]
    # Two reports are compared as written and without who said what ("the union said"), and
    # under their headlines, since a later mention names its matter less than its headline
    # does ("It received 189 votes" under "Transit bill clears parliament"). Alone, the
    # closer reading counts; the headlines' reading is averaged in, not taken alone, since
    # every sentence of two articles on one matter is close under their headlines.
    n = len(reports)
    texts = (
        [r.masked for r in reports]
        + [r.report for r in reports]
        + [f"{r.item.title}. {r.report}" if r.item.title else r.report for r in reports]
    )
    unique = list(dict.fromkeys(texts))  # a sentence without attribution reads the same twice
    embedded = dict(zip(unique, embed(unique), strict=True))
    vectors = np.asarray([embedded[t] for t in texts], dtype=np.float32)
    written, unattributed, headed = vectors[:n], vectors[n : 2 * n], vectors[2 * n :]
    labels = COMPARED.get(kind, frozenset({NUMBER}))
    found: list[Conflict] = []
    paired: set[str] = set()
    to_judge: list[tuple[float, int, int]] = []
    for i in range(len(cited)):
        a = reports[i]
        if a.item.sentence.id in paired:
            continue
        alone = np.maximum(written[i + 1 :] @ written[i], unattributed[i + 1 :] @ unattributed[i])
        closeness = (alone + headed[i + 1 :] @ headed[i]) / 2
        for j in (i + 1 + np.argsort(-closeness, kind="stable")).tolist():
            b = reports[j]
            if not _other_outlet(a.item, b.item) or b.item.sentence.id in paired:
                continue
            if closeness[j - i - 1] < SAME_MATTER:
                break  # the closest reports come first
            reason = _differ(a, b, labels, kind == YESNO)
            if reason:
                found.append(Conflict((a.item, b.item), reason))
                paired |= {a.item.sentence.id, b.item.sentence.id}
                break
            to_judge.append((float(closeness[j - i - 1]), i, j))
    if judge is None or kind != YESNO:
        return found
    verdicts: dict[int, str | None] = {}
    # The closest pairs are judged first.
    for _, i, j in sorted(to_judge, key=lambda pair: -pair[0])[:JUDGED]:
        a, b = reports[i], reports[j]
        if {a.item.sentence.id, b.item.sentence.id} & paired:
            continue
        for k in (i, j):
            if k not in verdicts:
                verdicts[k] = judge(reports[k].item.sentence.text)
        if {verdicts[i], verdicts[j]} == {"yes", "no"}:
            found.append(Conflict((a.item, b.item), "verdict"))
            paired |= {a.item.sentence.id, b.item.sentence.id}
    return found


def _other_outlet(a: ContextSentence, b: ContextSentence) -> bool:
    """Reports from two sources at one time: another article, from another outlet where both
    are known (an outlet's later article on the same matter updates its earlier one), within
    REPORT_DAYS of each other where both dates are known (two outlets' accounts of one event
    come out within days; a figure given weeks later is of another moment: a new offer, a
    revised count)."""
    if a.article_id == b.article_id:
        return False
    dated = a.published_at is not None and b.published_at is not None
    if dated and abs(a.published_at - b.published_at) > REPORT_DAYS * 86_400:  # type: ignore[operator]
        return False
    return a.source is None or b.source is None or a.source != b.source


def _differ(a: Report, b: Report, labels: frozenset[str], polar: bool) -> str | None:
    """ "values" when both give values of a compared kind and share none (names: when the two
    name nothing alike, since reports that name one person or body agree on who it is and
    differ only in what else they mention); "negation", for a yes/no question (what such a
    question asks is whether), when one is negated and the other is not."""
    named = [_names(a), _names(b)]
    for label, theirs in a.values.items():
        kind = label.split(":")[0]
        if kind not in labels or not b.values.get(label) or theirs & b.values[label]:
            continue
        if kind != NAMED or not named[0] & named[1]:
            return "values"
    if polar and a.negated != b.negated:
        return "negation"
    return None


def _names(report: Report) -> set[str]:
    return {v for label, vs in report.values.items() if label.startswith(NAMED) for v in vs}


def _attribution(doc) -> set[int]:  # type: ignore[no-untyped-def]
    """Token positions of who is quoted and how: the subject of a verb that reports a clause
    and the verb ("X happened, the union said"; "Police said X"; "..., his spokeswoman told
    reporters") and "according to" with its object."""
    out: set[int] = set()
    for token in doc:
        verb = token.head
        reports = verb.dep_ == "parataxis" or any(c.dep_ == "ccomp" for c in verb.children)
        if token.dep_ == "nsubj" and reports:
            out |= {t.i for t in token.subtree} | {verb.i}
            clauses = [c for c in verb.children if c.dep_ == "ccomp"]
            said_end = max([c.right_edge.i for c in clauses] + [verb.head.i * (not clauses)])
            for child in verb.children:
                if child.dep_ in ("aux", "neg"):
                    out.add(child.i)
                # "..., his spokeswoman told reporters": an object after what was said
                if child.dep_ in ("dobj", "dative") and child.i > said_end:
                    out |= {t.i for t in child.subtree}
        if token.dep_ == "pobj" and token.head.head.lower_ == "according":
            out |= {t.i for t in token.subtree} | {token.head.i, token.head.head.i}
    return out


def _kind(ent) -> str:  # type: ignore[no-untyped-def]
    if ent.label_ in ("DATE", "TIME"):
        return WHEN
    if ent.label_ in ("CARDINAL", "QUANTITY", "MONEY", "PERCENT") or any(t.like_num for t in ent):
        return NUMBER
    return NAMED


def _amount(ent) -> bool:  # type: ignore[no-untyped-def]
    """A figure that is a count of something or an amount: "Twelve miners", "$450 million",
    "3.1 percent", "310 metres"; not a number standing for people or things ("the two are
    having a great time", "one of her shows")."""
    if ent.label_ in ("MONEY", "PERCENT", "QUANTITY"):
        return True
    return any(t.dep_ in ("nummod", "quantmod") for t in ent)


def _normal(text: str) -> str:
    digits = re.sub(r"[^\d.]", "", text)
    return digits.strip(".") or text.lower().removeprefix("the ")


def show_conflicts(
    answer: Answer,
    kind: str,
    news: Sequence[ContextSentence],
    embedder: Any,
    judge: Callable[[str], str | None] | None = None,
    context: Sequence[ContextSentence] = (),
    saying: Sequence[Citation] | None = None,
) -> None:
    """Where another outlet's report in the articles the context reads differs from a cited
    sentence, the answer shows both, each attributed, and picks neither: the reports that
    differ lead, then the rest. An abstention is read the same way from the context sentences
    closest to the question: reports that differ are often why no answer could be given, and
    they are shown instead of "does not say". `saying`: the citations that hold what the
    answer says, where not all do (a short answer stands in its first; the others are articles
    that also name it)."""
    unique: dict[str, ContextSentence] = {}
    for item in news:
        unique.setdefault(item.sentence.id, item)
    if answer.abstained:
        cited = sorted(context, key=lambda c: -c.relevance)[:CLOSEST]
    else:
        cited_ids = {c.sentence_id for c in (answer.citations if saying is None else saying)}
        cited = [c for c in unique.values() if c.sentence.id in cited_ids]
    found = find_conflicts(kind, cited, list(unique.values()), embedder.embed, judge)
    if not found:
        return
    if answer.abstained:
        answer.abstained, answer.sentences, answer.related = False, [], []
    numbers = {c.sentence_id: c.n for c in answer.citations}
    shown: list[AnswerSentence] = [AnswerSentence(REPORTS_DIFFER, [], True)]
    for conflict in found:
        marks = []
        for side in conflict.sides:
            if side.sentence.id not in numbers:
                numbers[side.sentence.id] = len(answer.citations) + 1
                answer.citations.append(Citation.of(numbers[side.sentence.id], side))
            marks.append(numbers[side.sentence.id])
            shown.append(
                AnswerSentence(f"{attribution(side)}: {side.sentence.text}", [marks[-1]], True)
            )
        answer.conflicts.append({"reason": conflict.reason, "citations": marks})
    differing = {m for c in answer.conflicts for m in c["citations"]}
    answer.sentences = shown + [s for s in answer.sentences if not set(s.citations) & differing]
    answer.text = " ".join(
        " ".join([s.text, "".join(f"[{n}]" for n in s.citations)]).strip()
        for s in answer.sentences
        if s.supported
    )
