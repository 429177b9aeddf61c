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


LANGUAGES = ("es", "fr", "de", "it", "pt", "nl")  # the Latin-script languages told apart


@cache
def _function_words() -> dict[str, frozenset[str]]:
    """Each language's stop words (spaCy's stop lists), written as `stopwords` writes them."""
    import importlib

    return {
        code: frozenset(
            w.replace("’", "'").lower()
            for w in importlib.import_module(f"spacy.lang.{code}.stop_words").STOP_WORDS
        )
        for code in LANGUAGES
    }


def foreign_language(text: str) -> str | None:
    """A language code when the text is clearly not English, else None.

    Non-Latin script counts as foreign; Latin-script text is foreign when its function words
    (spaCy's stop lists) are another language's: at least two of its own that English lacks,
    more than twice as many as English's own that it lacks; of several such languages, the one
    whose function words the text holds most. Names and short keyword queries stay English.
    """
    letters = [c for c in text if c.isalpha()]
    if not letters:
        return None
    latin = sum(c.isascii() or "\u00c0" <= c <= "\u024f" for c in letters)
    if latin / len(letters) < 0.5:
        return "non-latin"
    tokens = [w.lower() for w in re.findall(r"\w+", text)]
    english = stopwords()
    candidates = []
    for code, own in _function_words().items():
        theirs = sum(t in own and t not in english for t in tokens)
        ours = sum(t in english and t not in own for t in tokens)
        if theirs >= 2 and theirs > 2 * ours:
            candidates.append((sum(t in own for t in tokens), code))
    return max(candidates)[1] if candidates else None
