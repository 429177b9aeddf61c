"""A question's parts: where a question is cut into the claims it asks of its sources, and
what each part asks once its reporting frame is taken out (`rag.reading.question` reads the
rest: what the question asks for, the sources it names).

In: a spaCy parse of the question and the character spans of the outlets it names. Out:
character spans with the subordinator that opened each part, then `Part`s, each with the
words its sources are asked to report.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, replace

from rag.reading.english import DOCUMENT_NOUNS
from rag.reading.recency import DATE_SHAPE

BOTH = "between"  # the mark of two parts set side by side ("Between A and B, was ...?")
FINITE = frozenset(["VBD", "VBZ", "VBP", "MD"])  # Penn tags of a finite verb
MIN_CLAIM_WORDS = 3  # a part asks something of its source in at least this many words


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


def clauses(doc) -> list[tuple[int, int, str | None]]:  # type: ignore[no-untyped-def]
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


def by_source(  # type: ignore[no-untyped-def]
    doc, spans: list[tuple[int, int, str | None]], mentions: dict
) -> list[tuple[int, int, str | None]]:
    """The spans cut again between each two sources one of them names, at the last word
    between the two that joins clauses (`_joins`: "A reported X before B mentioned Y", "A
    says X, and B says Y", "Do A and B suggest X?"), so that each source is asked its own
    words; the word cut at becomes the mark of the span it opens ("before" orders the two).
    A cut stands only if what follows it asks something of its own (not a source named after
    its words: "..., as reported by X", "X and Y described in Z") and what precedes it does
    too, or names its source alone ("Do A and B ...")."""
    named = sorted(mentions)
    out: list[tuple[int, int, str | None]] = []
    for start, end, mark in spans:
        inside = [m for m in named if start <= m[0] < end]
        position = start
        for (_, left), (right, _) in zip(inside, inside[1:], strict=False):
            joints = [t for t in doc if left <= t.idx and t.idx + len(t) <= right and _joins(t)]
            if not joints:
                continue  # "X's report in Y": nothing to cut at
            cut = joints[-1]
            before = claim_text(doc, position, cut.idx, mentions)
            after = claim_text(doc, cut.idx, end, mentions)
            if len(after.split()) < MIN_CLAIM_WORDS or 0 < len(before.split()) < MIN_CLAIM_WORDS:
                continue
            out.append((position, cut.idx, mark))
            position, mark = cut.idx + len(cut), cut.lower_
        out.append((position, end, mark))
    return out


def _joins(token) -> bool:  # type: ignore[no-untyped-def]
    """Does the token join two clauses: a conjunction ("and"), or a subordinator the parse
    marks as one ("before", "after", "while"), not the "that" opening what a source says?"""
    return token.tag_ == "CC" or (token.dep_ == "mark" and token.head.dep_ != "ccomp")


def compared(doc, mentions: Iterable[tuple[int, int]]) -> list[tuple[int, int, str | None]]:  # type: ignore[no-untyped-def]
    """Character spans of a verdict asked of two things set side by side: "Between A and B,
    was there a change in X?", "Has X changed between A and B?", "After A and B, was X
    consistent?" -> A and B (marked BOTH) and what is asked of both. The phrase is one that
    opens the question before its inverted clause, or one headed by "between"; A and B are
    cut at its last "and" with a source or a date on each side (not one inside an outlet's
    name). Empty when the question sets nothing side by side."""
    if not len(doc):
        return []
    main = next((t for t in doc[2:] if t.tag_ in FINITE and doc[t.i - 1].text == ","), None)
    if doc[0].dep_ == "prep" and main is not None:
        head, last, rest = doc[0], main.i - 1, main.idx  # the opening phrase, up to its comma
    else:
        head = next((t for t in doc if t.lower_ == "between" and t.dep_ == "prep"), None)
        if head is None:
            return []
        last, rest = len(doc) - (doc[-1].text == "?"), None  # to the end of the question
    start, end = head.idx, doc[last].idx if last < len(doc) else len(doc.text)
    named = [*mentions] + [(m.start(), m.end()) for m in DATE_SHAPE.finditer(doc.text, start, end)]
    joints = [
        t
        for t in doc[head.i + 1 : last]
        if t.dep_ == "cc"
        and not any(s <= t.idx < e for s, e in mentions)
        and any(start <= s and e <= t.idx for s, e in named)
        and any(t.idx < s < end for s, _ in named)
    ]
    if not joints:
        return []
    # the "and" that joins the phrase's own objects: the parse's, else one set off by a comma
    level = [t for t in joints if t.head == head or t.head.head == head]
    set_off = [t for t in joints if doc[t.i - 1].text == ","]
    joint = (level or set_off or joints)[-1].idx
    spans = [(0, start, None), (start, joint, BOTH), (joint, end, BOTH)]
    spans.append((end if rest is None else rest, len(doc.text), None))
    return [(a, b, mark) for a, b, mark in spans if doc.text[a:b].strip(" ,;?")]


def joined(parts: list[Part]) -> list[Part]:
    """The parts as the answer reads them: two set side by side each take what the rest asks
    (`_side_by_side`); otherwise a part with no source or date joins its neighbour
    (`_merge_sourceless`)."""
    if any(p.mark == BOTH for p in parts):
        return _side_by_side(parts)
    return _sharing_claims(_merge_sourceless(parts))


def _sharing_claims(parts: list[Part]) -> list[Part]:
    """A source named with no words of its own ("Do A and B suggest X?") is asked what the
    next part asks."""
    out = list(parts)
    for i in range(len(out) - 2, -1, -1):
        if len(out[i].text.split()) < MIN_CLAIM_WORDS and out[i].outlets:
            out[i] = replace(out[i], text=out[i + 1].text)
    return out


def _side_by_side(parts: list[Part]) -> list[Part]:
    """Two things set side by side (marked BOTH), each asked what the rest of the question
    asks, and each reported by the sources the rest names when it names none itself."""
    asked = [p for p in parts if p.mark != BOTH]
    text = "; ".join(p.text for p in asked if p.text)
    sources = tuple(dict.fromkeys(s for p in asked for s in p.sources))
    named = tuple(dict.fromkeys(s for p in asked for s in p.named))
    unknown = tuple(dict.fromkeys(s for p in asked for s in p.unknown))
    return [
        replace(
            p,
            text="; ".join(t for t in (p.text, text) if t),
            sources=p.sources or sources,
            named=p.named or named,
            unknown=p.unknown or (() if p.sources else unknown),
        )
        for p in parts
        if p.mark == BOTH
    ]


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


def claim_text(doc, start: int, end: int, mentions: dict) -> str:  # type: ignore[no-untyped-def]
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
    dates = [  # a publication date is framing too, with what attaches it ("published on")
        (m.start(), m.end())
        for m in DATE_SHAPE.finditer(doc.text, start, end)
        if re.search(r"\d{4}", m.group())
    ]
    framing = _frame(doc, tokens, [*mentions, *dates])
    text = "".join(t.text_with_ws for t in tokens if t.i not in framing)
    return _without_windows(text).strip(" '\"‘’“”")


def _frame(doc, tokens, mentions: Iterable[tuple[int, int]]) -> set[int]:  # type: ignore[no-untyped-def]
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
    for t in tokens:  # a source's determiner and compounds ("both the TechCrunch article")
        if t.head.i in source and (
            t.dep_ == "case"
            or (
                t.dep_ in ("det", "predet", "preconj", "compound", "poss", "amod")
                and t.i < t.head.i
            )
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
    within = {t.i for t in tokens}
    for t in tokens:  # a preposition left without its object ("from X", "by X")
        objects = [c for c in t.children if c.dep_ == "pobj" and c.i in within]
        if t.dep_ in ("prep", "agent") and objects and all(c.i in frame for c in objects):
            frame.add(t.i)
    first = tokens[0] if tokens else None
    if first is not None and (first.dep_ in ("mark", "cc") or first.tag_ in FINITE):
        frame.add(first.i)  # "while", "and", the inverting auxiliary ("Did", "was there")
        frame.update(c.i for c in first.children if c.dep_ == "expl")
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
    text = re.sub(r"\s+([,;:])", r"\1", " ".join(text.split()))  # what a cut date left
    return re.sub(r"([,;:])(?=[,;:])", "", text).strip(" ,;?")
