"""The model's written answers: a whole reply parsed into claims with the numbers of the
sentences they cite (`parse_answer`), the JSON reply as it streams, each claim's text as it
grows, then the claim (`ClaimReader`), and one string field of a whole reply (`json_field`)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from rag.answering.prompts import ABSTAIN_TEXT


@dataclass
class Claim:
    text: str
    cites: list[int]


@dataclass
class ParsedAnswer:
    answerable: bool
    claims: list[Claim]
    well_formed: bool  # False when the reply was not the JSON we asked for


_MARKER = re.compile(r"\[(\d+(?:\s*,\s*\d+)*)\]")


def parse_answer(raw: str) -> ParsedAnswer:
    """The JSON we asked for; failing that, the first JSON object in the text; failing that,
    plain text with [n] markers, one claim per sentence."""
    data = _json_object(raw)
    if data is not None:
        claims = []
        for item in data.get("sentences") or []:
            if not isinstance(item, dict):
                continue
            text = str(item.get("text", "")).strip()
            cites = [int(c) for c in item.get("cite") or [] if _is_int(c)]
            if text and not is_abstention(text):
                claims.append(Claim(_unmark(text), cites))
        answerable = bool(data.get("answerable", bool(claims)))
        return ParsedAnswer(answerable, claims, well_formed=True)
    claims = _claims_from_markers(raw)
    kept = [c for c in claims if not is_abstention(c.text)]
    return ParsedAnswer(bool(kept) or not claims, kept, well_formed=False)


def is_abstention(text: str) -> bool:
    """The model's own "The indexed news does not say." (the prompt's way to decline)."""
    return normal(_unmark(text)).rstrip(".").lower() == ABSTAIN_TEXT.rstrip(".").lower()


def _is_int(value: object) -> bool:
    return (
        isinstance(value, int)
        and not isinstance(value, bool)
        or (isinstance(value, str) and value.strip().isdigit())
    )


def _unmark(text: str) -> str:
    """Claim text without [n] markers (the citations travel separately)."""
    return re.sub(r"\s+([.,;:!?])", r"\1", _MARKER.sub("", text)).strip()


def _json_object(raw: str) -> dict | None:
    text = raw.strip()
    for candidate in (text, text[text.find("{") : text.rfind("}") + 1]):
        if not candidate:
            continue
        try:
            data = json.loads(candidate)
        except json.JSONDecodeError:
            continue
        if isinstance(data, dict):
            return data
    return None


def _claims_from_markers(raw: str) -> list[Claim]:
    claims = []
    for piece in re.split(r"(?<=[.!?])\s+(?=[A-Z“\"])", raw.strip()):
        cites = [int(n) for group in _MARKER.findall(piece) for n in group.split(",")]
        text = _unmark(piece)
        if text:
            claims.append(Claim(text, cites))
    return claims


def normal(text: str) -> str:
    return " ".join(text.split()).strip(" -•*")


def json_field(raw: str, key: str) -> str | None:
    try:
        value = json.loads(raw).get(key)
    except (json.JSONDecodeError, AttributeError):
        return None
    return value if isinstance(value, str) else None


class ClaimReader:
    """Reads the answer JSON as it streams: the text of each claim as it grows, then the claim.

    Yields ("text", (claim index, delta)) for new characters of claim texts (a space before
    every claim but the first), and
    ("claim", Claim) once a claim's object is complete.
    """

    _TEXT = re.compile(r'"text"\s*:\s*"((?:[^"\\]|\\.)*)')
    _OBJECT = re.compile(
        r'\{\s*"text"\s*:\s*"((?:[^"\\]|\\.)*)"\s*,\s*"cite"\s*:\s*\[([^\]]*)\]\s*\}'
    )

    def __init__(self) -> None:
        self.buffer = ""
        self.emitted: list[int] = []  # characters of each claim's text already yielded
        self.claims_seen = 0

    def feed(self, delta: str) -> Iterator[tuple[str, Any]]:
        self.buffer += delta
        for i, match in enumerate(self._TEXT.finditer(self.buffer)):
            partial = _decode_partial(match.group(1))
            if i >= len(self.emitted):
                self.emitted.append(0)
            if len(partial) > self.emitted[i]:
                # Claims are separated by a space, sent with the claim's first characters.
                lead = " " if i > 0 and self.emitted[i] == 0 else ""
                yield "text", (i, lead + partial[self.emitted[i] :])
                self.emitted[i] = len(partial)
        for match in list(self._OBJECT.finditer(self.buffer))[self.claims_seen :]:
            self.claims_seen += 1
            text = json.loads(f'"{match.group(1)}"')
            cites = [int(x) for x in re.findall(r"\d+", match.group(2))]
            yield "claim", Claim(text.strip(), cites)


def _decode_partial(escaped: str) -> str:
    """Decode a JSON string body that may end inside an escape sequence."""
    for cut in range(len(escaped), max(len(escaped) - 6, -1), -1):
        try:
            return json.loads(f'"{escaped[:cut]}"')
        except json.JSONDecodeError:
            continue
    return ""
