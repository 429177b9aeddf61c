"""The `extractive` backend: no language model, the best supporting sentences as the answer.

It reads the selected context directly and answers with the sentences that hold most of the
question's content words, each citing itself, in the same JSON the models are asked for, so
the rest of the pipeline (parsing, checking, streaming) is the same for every backend.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

from rag.generators.base import GenerationRequest

# A sentence must hold this share of the question's content words to be offered as an answer.
MIN_RELEVANCE = 0.34


class ExtractiveGenerator:
    name = "extractive"
    model_id = "extractive"
    supports_json_schema = True
    uses_llm = False

    def __init__(self, sentences: int = 2) -> None:
        self.sentences = sentences

    def stream(self, request: GenerationRequest) -> Iterator[str]:
        ranked = sorted(request.context, key=lambda c: (-c.relevance, c.n))
        best = [c for c in ranked[: self.sentences] if c.relevance >= MIN_RELEVANCE]
        yield json.dumps(
            {
                "answerable": bool(best),
                "sentences": [{"text": c.sentence.text, "cite": [c.n]} for c in best],
            },
            ensure_ascii=False,
        )

    def close(self) -> None:
        pass
