"""Split an article body into sentences with exact character offsets.

The body is first cut into paragraphs at line breaks (news text puts one paragraph per line,
and a headline or a bullet never runs on into the next line); each paragraph is then split by
a sentence-boundary detector. Which detector is the default was chosen by measurement
(`bench/sentence_splitters.py`). Whatever the detector returns, offsets are recomputed by
locating each piece in the body, so `body[start:end] == text` always holds.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from functools import cache

from rag.types import Sentence, sentence_id

Spans = list[tuple[int, int]]
_PARAGRAPH = re.compile(r"[^\n]+")
_LIST_MARKER = re.compile(r"[ \t]*(?:[-*•–]|\d{1,2}[.)])[ \t]+")


@cache
def _pysbd() -> Callable[[str], list[str]]:
    import pysbd

    segmenter = pysbd.Segmenter(language="en", clean=False)
    return segmenter.segment


def _split_pysbd(text: str) -> list[str]:
    return _pysbd()(text)


def _split_blingfire(text: str) -> list[str]:
    import blingfire

    return blingfire.text_to_sentences(text).split("\n")


def _split_nupunkt(text: str) -> list[str]:
    import nupunkt

    return [str(s) for s in nupunkt.sent_tokenize(text)]


SPLITTERS: dict[str, Callable[[str], list[str]]] = {
    "pysbd": _split_pysbd,
    "blingfire": _split_blingfire,
    "nupunkt": _split_nupunkt,
}
DEFAULT_SPLITTER = "nupunkt"


def _locate(paragraph: str, pieces: list[str]) -> Iterator[tuple[int, int]]:
    """Offsets of each piece inside `paragraph`, trimmed of surrounding white space.

    A detector may normalise white space inside a piece; then the piece is matched loosely
    and, failing that, the rest of the paragraph becomes one sentence so no text is lost.
    A detector may also drop text (pysbd drops a sentence that holds a character it uses
    internally, such as "♬" or "☝"; blingfire drops zero-width and control characters); text
    skipped between two pieces is kept at the head of the next sentence, for the same reason.
    """
    cursor = 0
    for piece in pieces:
        piece = piece.strip()
        if not piece:
            continue
        at = paragraph.find(piece, cursor)
        if at < 0:
            loose = r"\s+".join(map(re.escape, piece.split()))
            match = re.compile(loose).search(paragraph, cursor)
            if match is None:
                break
            at, end = match.span()
        else:
            end = at + len(piece)
        skipped = paragraph[cursor:at]
        if skipped.strip():
            at = cursor + len(skipped) - len(skipped.lstrip())
        yield at, end
        cursor = end
    rest = paragraph[cursor:]
    if rest.strip():
        lead = len(rest) - len(rest.lstrip())
        yield cursor + lead, len(paragraph.rstrip())


def sentence_spans(body: str, splitter: str = DEFAULT_SPLITTER) -> Spans:
    split = SPLITTERS[splitter]
    spans: Spans = []
    for para in _PARAGRAPH.finditer(body):
        # A list marker ("- ", "* ", "• ", "1. ") is layout, not part of the sentence.
        marker = _LIST_MARKER.match(para.group())
        offset = para.start() + (marker.end() if marker else 0)
        text = body[offset : para.end()]
        if not text.strip():
            continue
        for start, end in _locate(text, split(text)):
            spans.append((offset + start, offset + end))
    return spans


def split_sentences(article_id: str, body: str, splitter: str = DEFAULT_SPLITTER) -> list[Sentence]:
    return [
        Sentence(sentence_id(article_id, i), i, body[start:end], start, end)
        for i, (start, end) in enumerate(sentence_spans(body, splitter))
    ]
