"""The sources a question names: the index's outlets it mentions, and the names it gives as
sources that no outlet of the index matches.

An outlet is matched by its full name or its brand before a " | " or " - " tagline ("The
Independent" for "The Independent - Life and Style"), with any quote marks around it. A name
in a reporting position ("the article from X", "an article in X", "a Bloomberg report",
"reported by X", "according to X") that the index does not hold is unknown, so the answer can
say it has nothing from it. Read with spaCy's parse of the question (`rag.reading.question`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from rag.reading.english import DOCUMENT_NOUNS

_TAGLINE = re.compile(r"\s+(?:\||-|–|—|:)\s+")


def _brand(outlet: str) -> str:
    return _TAGLINE.split(outlet, maxsplit=1)[0].strip()


def outlet_mentions(question: str, outlets: Iterable[str]) -> dict[tuple[int, int], list[str]]:
    """Where the question names an outlet of the index: {(start, end): [outlet, ...]}. A brand
    shared by several outlets ("FOX News - Health", "FOX News - Lifestyle") names them all."""
    by_name: dict[str, list[str]] = {}
    for outlet in outlets:
        for name in {outlet, _brand(outlet)}:
            if len(name) >= 3:
                by_name.setdefault(name.lower(), []).append(outlet)
    lowered = question.lower()
    found: dict[tuple[int, int], list[str]] = {}
    for name in sorted(by_name, key=len, reverse=True):  # the longest name wins a place
        for match in re.finditer(rf"(?<![\w]){re.escape(name)}(?![\w])", lowered):
            span = _with_quotes(question, match.start(), match.end())
            if any(s <= span[0] < e or s < span[1] <= e for s, e in found):
                continue
            found[span] = sorted(set(by_name[name]))
    return dict(sorted(found.items()))


_QUOTES = {"'": "'", '"': '"', "‘": "’", "“": "”"}


def _with_quotes(text: str, start: int, end: int) -> tuple[int, int]:
    """The span of a name with the quote marks around it ("the 'Sport Grill' article")."""
    if start > 0 and end < len(text) and _QUOTES.get(text[start - 1]) == text[end]:
        return start - 1, end + 1
    return start, end


def unknown_sources(doc, mentions: dict) -> list[tuple[str, int]]:  # type: ignore[no-untyped-def]
    """Names the question gives as sources that no outlet of the index matches, with where
    they start: the object of "from"/"by"/"in" after a noun for a piece of news, of "reported by",
    or of "according to", or the name heading such a noun ("a Bloomberg report")."""
    unknown = []
    for ent in doc.ents:
        # A person is quoted in the news or writes it, and is no outlet the index could hold.
        if ent.label_ not in ("ORG", "WORK_OF_ART", "GPE", "NORP", "PRODUCT"):
            continue
        if any(s < ent.end_char and ent.start_char < e for s, e in mentions):
            continue
        noun = ent.root.head
        between = doc[ent.end : noun.i]
        if (
            ent.root.dep_ in ("compound", "nmod", "poss")
            and noun.lower_ in DOCUMENT_NOUNS
            and all(t.is_punct or t.dep_ == "case" for t in between)
        ):
            # "a Bloomberg report", "Bloomberg's article": the name heads the piece of news
            unknown.append((ent.text.strip("'\"‘’“” "), ent.start_char))
            continue
        prep = ent.root.head if ent.root.dep_ == "pobj" else None
        if prep is None or prep.lower_ not in ("from", "by", "in", "to"):
            continue
        governor = prep.head
        as_source = (
            (prep.lower_ in ("from", "by", "in") and governor.lower_ in DOCUMENT_NOUNS)
            or (prep.lower_ == "by" and governor.lower_ in ("reported", "published", "covered"))
            or (prep.lower_ == "to" and governor.lower_ == "according")
        )
        if as_source:
            unknown.append((ent.text.strip("'\"‘’“” "), ent.start_char))
    return unknown
