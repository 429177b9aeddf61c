"""What every way of answering shares: the run of one question (its wording and timings), the
events it streams, and the abstention.

A question goes one of five ways (`rag.answering.answer`): decided by parts (`rag.answering.parts`),
answered short and located (`rag.answering.short`), answered with one of the alternatives it offers
(`rag.answering.alternatives`), answered by the sentence the model points to
(`rag.answering.picked`), or written as claims, each checked (`rag.answering.claims`). Each
way is a `Stage` holding the model, the settings and the embedder; each streams `Event`s and ends
with a `done` event carrying the `Answer`.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from rag.answering.answer_types import Answer, AnswerSentence, Citation
from rag.answering.context import ContextSentence
from rag.answering.prompts import ABSTAIN_TEXT
from rag.config import Settings
from rag.generators.base import Generator
from rag.reading.question import Reading
from rag.store.embedding import Embedder

Event = tuple[str, dict[str, Any]]
CLOSEST = 3  # context sentences an abstention shows as related, and reads for reports that differ
NO_LOGPROBS = "the backend reports no token probabilities: no confidence"


@dataclass
class Run:
    question: str
    standalone: str
    started: float
    timings: dict[str, float] = field(default_factory=dict)
    kind: str = ""  # what the question asks for (rag.reading.question)
    reading: Reading | None = None  # how the question was read (rag.reading.question)
    # A narrower context read first, the sentences closest to the question (rag.answering.short)
    first_read: list[ContextSentence] = field(default_factory=list)

    def mark(self, name: str, since: float) -> float:
        now = time.perf_counter()
        self.timings[name] = round((now - since) * 1000, 1)
        return now


class Stage:
    def __init__(self, generator: Generator, settings: Settings, embedder: Embedder) -> None:
        self.generator = generator
        self.settings = settings
        self.embedder = embedder

    def _abstain(
        self,
        run: Run,
        context: Sequence[ContextSentence],
        sentences: list[AnswerSentence],
        text: str = ABSTAIN_TEXT,
    ) -> Answer:
        closest = sorted(context, key=lambda c: -c.relevance)[:CLOSEST]
        run.timings["total_ms"] = round((time.perf_counter() - run.started) * 1000, 1)
        return Answer(
            run.question,
            run.standalone,
            text,
            sentences,
            [],
            True,
            related=[Citation.of(i, c) for i, c in enumerate(closest, start=1)],
            timings=run.timings,
            model=self.generator.model_id,
            backend=self.generator.name,
        )

    def _stated(
        self,
        run: Run,
        text: str,
        cited: Sequence[ContextSentence],
        mode: str,
        chance: float | None,
        confidence: float | None,
    ) -> Iterator[Event]:
        """An answer of one sentence, `text`, citing `cited` (numbered from 1): each citation,
        the text, the checked sentence, then the answer. `chance`: the model's probability of
        its reply, where the backend reports it; an answer with neither it nor a confidence
        from elsewhere (the support of a chosen outlet's sentence) says so in its `mode`."""
        citations = [Citation.of(n, item) for n, item in enumerate(cited, start=1)]
        for citation in citations:
            yield "citation", asdict(citation)
        marks = [c.n for c in citations]
        yield "token", {"text": text, "sentence": 0}
        sentence = AnswerSentence(text, marks, True)
        yield "sentence", {"index": 0, "text": text, "supported": True, "citations": marks}
        run.mark("total_ms", run.started)
        answer = Answer(
            run.question,
            run.standalone,
            f"{text} " + "".join(f"[{n}]" for n in marks),
            [sentence],
            citations,
            False,
            timings=run.timings,
            model=self.generator.model_id,
            backend=self.generator.name,
            mode=mode if chance is not None or confidence is not None else f"{mode}, {NO_LOGPROBS}",
            reply_probability=chance,
            confidence=confidence,
        )
        yield "done", {"answer": answer}
