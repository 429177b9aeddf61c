"""The model's JSON replies as they stream: each claim's text as it grows, then the claim
(`ClaimReader`), and one string field of a whole reply (`json_field`)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from rag.citations import Claim


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
