"""The `extractive` backend: no language model, the best supporting sentences as the answer.

It reads the selected context directly and answers with the sentences that hold most of the
question's content words, each citing itself, in the same JSON the models are asked for, so
the rest of the pipeline (parsing, checking, streaming) is the same for every backend.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

from rag.generators.base import GenerationRequest

# A sentence is offered as an answer when it holds at least MIN_MATCHED of the question's
# content words (or half of a short question's) and MIN_RELEVANCE of them all (long
# multi-part questions match few per sentence); a second one must come close to the best.
MIN_MATCHED = 2
MIN_RELEVANCE = 0.15
SECOND_BEST = 0.75


class ExtractiveGenerator:
    name = "extractive"
    model_id = "extractive"
    supports_json_schema = True
    uses_llm = False

    def __init__(self, sentences: int = 2) -> None:
        self.sentences = sentences

    def stream(self, request: GenerationRequest) -> Iterator[str]:
        ranked = sorted(request.context, key=lambda c: (-c.relevance, c.n))
        good = [
            c
            for c in ranked
            if c.relevance >= MIN_RELEVANCE and (c.matched >= MIN_MATCHED or c.relevance >= 0.5)
        ]
        best = [c for c in good[: self.sentences] if c.relevance >= SECOND_BEST * good[0].relevance]
        reply = json.dumps(
            {
                "answerable": bool(best),
                "sentences": [{"text": c.sentence.text, "cite": [c.n]} for c in best],
            },
            ensure_ascii=False,
        )
        # Streamed word by word like a model's reply, so clients see the same event flow.
        yield from re.findall(r"\S+\s*|\s+", reply)

    def close(self) -> None:
        pass
