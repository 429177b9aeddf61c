"""Short answers: the name, time or number a question asks for, read by the model and located.

The model reads the context and replies with the answer alone (a few tokens, no written
claims). The reply is then looked for in the sentences it read: the sentence that holds it,
word for word, is its citation, so the citation is right by construction, and what is shown
is the sentence's own wording of it. A name, an outlet or a date the model read in the header
of an article (its headline's opening, outlet and date) cites that article's sentence closest
to the question. A reply found in nothing read, or that only repeats the question, is not
shown as fact.

The reply's probability (the product of its tokens' probabilities, where the backend reports
them) is what its confidence is calibrated from (`rag.confidence`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

from rag.context import ContextSentence, header_line

_WORD = re.compile(r"\w+")
# Words the answer may carry that the source need not: SQuAD's normalisation drops articles.
_ARTICLES = frozenset(["a", "an", "the"])
# What the model replies when the sentences do not say (rag.prompts.SHORT_SYSTEM).
NOT_STATED = "not stated"


@dataclass(frozen=True)
class Located:
    item: ContextSentence  # the sentence cited for the answer
    text: str  # the answer as the source writes it
    start: int  # offsets of `text` in the sentence; (0, 0) where it stands in the header
    end: int


def _words(text: str) -> list[tuple[str, int, int]]:
    return [(m.group().lower(), m.start(), m.end()) for m in _WORD.finditer(text)]


def answer_words(reply: str) -> list[str]:
    words = [w for w, _, _ in _words(reply)]
    while words and words[0] in _ARTICLES:
        words = words[1:]
    return words


def says_nothing(reply: str) -> bool:
    return " ".join(answer_words(reply)) in ("", NOT_STATED, "none", "unknown")


def repeats(reply: str, question: str) -> bool:
    """The reply is what the question already says ("Russia" for "Who did Russia invite?"),
    and the question offers no choice ("... X or Y?") it could be picking: it tells the asker
    nothing, so it answers nothing."""
    want = answer_words(reply)
    asked = _words(question)
    if not want or any(w == "or" for w, _, _ in asked):
        return False
    return _find(want, question) is not None


def locate(reply: str, context: Sequence[ContextSentence]) -> Located | None:
    """Where the reply stands in what was read: a sentence holding its words in a row (the
    one closest to the question first), else the header of an article (its headline's
    opening, outlet and date), which cites that article's sentence closest to the question."""
    want = answer_words(reply)
    if not want:
        return None
    ranked = sorted(context, key=lambda c: -c.relevance)
    for item in ranked:
        if found := _find(want, item.sentence.text):
            start, end = found
            return Located(item, item.sentence.text[start:end], start, end)
    for item in ranked:
        header = header_line(item.title, item.source, item.published_at)
        if found := _find(want, header):
            start, end = found
            return Located(item, header[start:end], 0, 0)
    return None


def _find(want: list[str], text: str) -> tuple[int, int] | None:
    """The offsets of the words `want` in a row in `text`, the first place they stand."""
    words = _words(text)
    for i in range(len(words) - len(want) + 1):
        if all(words[i + j][0] == w for j, w in enumerate(want)):
            return words[i][1], words[i + len(want) - 1][2]
    return None


def probability(logprobs: Sequence[float]) -> float | None:
    """The reply's probability under the model: the product of its tokens' probabilities."""
    return math.exp(sum(logprobs)) if logprobs else None
