"""What the answer stage reads of an English claim or sentence, in one place: the time, count
or reason it gives, whether it negates, and the verdict it opens with.

Enters: a claim or a sentence (and, for counts, the question). Leaves: what it gives of the
kind a question asks for (`rag.answering.citations.SupportChecker.gives_answer`) and its
polarity (`SupportChecker.implied_verdict`). Questions themselves are read by
`rag.reading.question`.
"""

from __future__ import annotations

import re
from functools import cache, lru_cache

from spacy.lang.en.lex_attrs import like_num

from rag.reading.question import parser
from rag.text import content_stems

_YEAR = re.compile(r"(1[89]|20)\d\d")
_TIME_LABELS = frozenset(["DATE", "TIME"])
# The "Yes" or "No" an answer opens with, as a model writes it.
_VERDICT = re.compile(r"(yes|no)\b[,.;:!]?\s*", re.I)
# Words that turn a statement round: "has not responded", "failed to identify", "denied".
_NEGATION = re.compile(
    r"\b(?:not|no|never|none|nothing|neither|nor|without|cannot"
    r"|fail(?:s|ed)?|refus(?:e|es|ed)|den(?:y|ies|ied)|declin(?:e|es|ed))\b|n['’]t\b",
    re.I,
)
# Connectives that give a cause or a purpose: spaCy parses them but does not tell them apart.
_REASON = re.compile(
    r"\b(because|since|due to|owing to|as a result|in order to|so that|so as to|after|following"
    r"|amid|reasons?|caused|led to|given that|thanks to|in response to)\b",
    re.I,
)
# Words that count without being numerals (spaCy's `like_num` reads the numerals: "twelve",
# "hundred", "52").
_QUANTIFIERS = frozenset(["dozen", "several", "none", "no", "single", "both", "half"])


def is_year(number: str) -> bool:
    return _YEAR.fullmatch(number) is not None


def dates_an_event(text: str) -> bool:
    """Does the text place its event in time ("on Friday", "on Jan. 5", "last week"), by more
    than a year alone?"""
    return any(not is_year(t) for t in times(text))


def times(text: str) -> list[str]:
    """The times the text gives (a date, a day, a month, a year, a part of the day or year:
    spaCy's DATE and TIME entities), lowercased."""
    return list(_times(text))


@lru_cache(maxsize=4096)
def _times(text: str) -> tuple[str, ...]:
    return tuple(e.text.lower() for e in parser()(text).ents if e.label_ in _TIME_LABELS)


def gives_reason(text: str) -> bool:
    return _REASON.search(text) is not None


def is_count_word(word: str) -> bool:
    """A numeral or a word that counts ("twelve", "hundreds", "dozens", "several", "both")."""
    single = word[:-1] if word.endswith("s") and word != "ones" else word  # "hundreds"
    return like_num(word) or like_num(single) or single in _QUANTIFIERS


def negations(text: str) -> int:
    """How many times the text turns a statement round."""
    return len(_NEGATION.findall(text))


def opening_verdict(text: str) -> re.Match[str] | None:
    """The "Yes" or "No" the text opens with (group 1), and what follows it."""
    return _VERDICT.match(text)


@cache
def what_is_counted(question: str) -> tuple[str, str] | None:
    """What a "How many ...?" question counts and what it asks of it, as stems: ("troop",
    "fight") for "How many Russian troops are fighting?", ("vote", "receiv") for "How many
    votes did the bill receive?"; None when it names nothing ("How much did it cost?")."""
    doc = parser()(question)
    for token in doc:
        if token.lower_ in ("many", "much") and token.head.pos_ in ("NOUN", "PROPN"):
            noun = token.head
            verb = noun.head if noun.head.pos_ in ("VERB", "AUX") else noun.sent.root
            if noun.pos_ == "PROPN" or not content_stems(noun.text):
                return None
            return stem(noun.text), stem(verb.text)
    return None


def stem(word: str) -> str:
    stems = content_stems(word)
    return min(stems) if stems else word.lower()
