"""Word-level text features shared by context selection and the support check.

Deterministic and small: lower-cased word tokens, spaCy's English stop list, Snowball stems,
numbers in a canonical form, and capitalised names.
"""

from __future__ import annotations

import re
from functools import cache

WORD = re.compile(r"[\w’'][\w’'.-]*[\w]|\w", re.UNICODE)
NUMBER = re.compile(r"(?<![\w.])[$€£]?\d[\d,]*(?:\.\d+)?%?")
NAME = re.compile(r"\b[A-Z][\w’'-]*(?:\s+[A-Z][\w’'-]*)*")


@cache
def stopwords() -> frozenset[str]:
    """spaCy's English stop list, written the way `words` writes tokens (straight apostrophes,
    lower case). Read on first use: importing spaCy takes seconds."""
    from spacy.lang.en.stop_words import STOP_WORDS

    return frozenset(w.replace("’", "'").lower() for w in STOP_WORDS)


@cache
def _stemmer() -> object:
    import Stemmer

    return Stemmer.Stemmer("english")


def words(text: str) -> list[str]:
    """Lower-cased word tokens; a possessive 's is dropped ("Russia's" -> "russia")."""
    out = []
    for token in WORD.findall(text):
        token = token.lower().replace("’", "'").strip("'.-")
        out.append(token[:-2] if token.endswith("'s") else token)
    return out


def content_stems(text: str) -> set[str]:
    stop = stopwords()
    kept = [w for w in words(text) if w and w not in stop and not w.isdigit()]
    return set(_stemmer().stemWords(kept))  # type: ignore[attr-defined]


def numbers(text: str) -> set[str]:
    """ "1,200", "$1200" and "1200" are the same number; "3.5%" keeps its percent sign."""
    return {n.lstrip("$€£").replace(",", "") for n in NUMBER.findall(text)}


def names(text: str) -> set[str]:
    """Capitalised words not at the start of the text or of a sentence, lower-cased."""
    found: set[str] = set()
    stop = stopwords()
    for match in NAME.finditer(text):
        start = match.start()
        before = text[:start].rstrip()
        at_sentence_start = not before or before[-1] in ".!?:\"“”‘'—-(\n"
        tokens = words(match.group())
        if at_sentence_start:
            tokens = tokens[1:]
        found.update(t for t in tokens if t and t not in stop)
    return found


# Function words that are frequent in each language and rare in English questions.
_FOREIGN = {
    "es": [
        "el",
        "la",
        "los",
        "las",
        "que",
        "de",
        "del",
        "por",
        "para",
        "con",
        "una",
        "es",
        "qué",
        "cuál",
        "cuándo",
        "dónde",
        "cómo",
        "según",
        "y",
    ],
    "fr": [
        "le",
        "la",
        "les",
        "des",
        "est",
        "que",
        "qui",
        "une",
        "dans",
        "pour",
        "avec",
        "sur",
        "quel",
        "quelle",
        "quand",
        "où",
        "comment",
        "et",
    ],
    "de": [
        "der",
        "die",
        "das",
        "und",
        "ist",
        "nicht",
        "ein",
        "eine",
        "mit",
        "für",
        "auf",
        "wer",
        "wann",
        "warum",
        "wie",
        "welche",
        "hat",
        "über",
        "dem",
        "den",
        "im",
        "sind",
        "wurde",
    ],
    "it": [
        "il",
        "lo",
        "gli",
        "della",
        "che",
        "non",
        "una",
        "per",
        "con",
        "sono",
        "chi",
        "quando",
        "perché",
        "come",
        "quale",
    ],
    "pt": [
        "o",
        "os",
        "as",
        "que",
        "não",
        "uma",
        "para",
        "com",
        "por",
        "quem",
        "quando",
        "onde",
        "como",
        "qual",
        "é",
    ],
    "nl": [
        "de",
        "het",
        "een",
        "van",
        "en",
        "niet",
        "met",
        "voor",
        "wie",
        "wanneer",
        "waarom",
        "hoe",
        "welke",
        "is",
    ],
}
_ENGLISH = frozenset(
    [
        "the",
        "a",
        "an",
        "of",
        "to",
        "in",
        "is",
        "are",
        "was",
        "were",
        "what",
        "who",
        "which",
        "when",
        "where",
        "why",
        "how",
        "did",
        "does",
        "do",
        "and",
        "for",
        "on",
        "with",
        "by",
        "about",
        "from",
        "that",
        "this",
    ]
)


def foreign_language(text: str) -> str | None:
    """A language code when the text is clearly not English, else None.

    Non-Latin script counts as foreign; Latin-script text is foreign when its function words
    are mostly another language's. Names and short keyword queries stay English.
    """
    letters = [c for c in text if c.isalpha()]
    if not letters:
        return None
    latin = sum(c.isascii() or "\u00c0" <= c <= "\u024f" for c in letters)
    if latin / len(letters) < 0.5:
        return "non-latin"
    tokens = [w.lower() for w in re.findall(r"\w+", text)]
    english = sum(t in _ENGLISH for t in tokens)
    best, count = max(
        ((code, sum(t in set(vocab) for t in tokens)) for code, vocab in _FOREIGN.items()),
        key=lambda pair: pair[1],
    )
    if count >= 2 and count > 2 * english:
        return best
    return None
