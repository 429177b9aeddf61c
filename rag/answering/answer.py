"""Question in, grounded answer out: retrieve -> select context -> generate -> verify.

Five paths (`Answer.mode`): a yes/no question about what named outlets report is decided by
parts (`rag.answering.parts`, no model); a question asking for a name, a time or a number is
answered short by a language model and located in what it read (`rag.answering.short`); a question
offering alternatives ("agree or disagree?") is answered with one of them
(`rag.answering.alternatives`); a question asking why or how is answered by the sentence the
model points to (`rag.answering.picked`; `statement_answers="claims"` writes claims instead);
any other question, or any question on the extractive backend, is answered in written claims,
each checked (`rag.answering.claims`). This module reads the question, retrieves, gates,
chooses the context and the path, and reads the answer for reports that differ
(`rag.answering.conflicts`); each path is a `rag.answering.stage.Stage` of its own.

`Answerer.stream` yields events as they happen: `evidence` (the context sentences the model
will read, each as a citation numbered as in the prompt, before any model call), `token`
(answer text as it is generated; a short answer's text once it is located, `rag.answering.short`),
`sentence` (a claim checked: supported or not, with its citation numbers), `citation` (each
source sentence once, as soon as a claim citing it passes the check), `verdict` (the "Yes." or
"No." the answer opens with when its first supported claim states a yes/no question without
one, `SupportChecker.supported_verdict`; sent just before that claim's `sentence`) and `done`
(the whole `Answer`, which decides: an answer that ends up abstaining drops what was
streamed). `Answerer.answer` runs the same stream to the end.

The answer abstains ("The indexed news does not say.") when retrieval finds nothing relevant
(a gate in code, before any model call), when the model says the context does not answer the
question, when none of its claims survives the support check, or when those that do are beside
the point (no name for "Who ...?", no time for "When ...?": `SupportChecker.gives_answer`).
A short answer abstains when the model says the sentences do not give it, when its reply only
repeats the question, stands in no sentence it read, or is too unsure (`rag.answering.confidence`).
"""

from __future__ import annotations

import collections.abc
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict
from datetime import datetime
from typing import Any

from rag.answering.alternatives import AlternativeAnswerer
from rag.answering.answer_types import Answer, Citation
from rag.answering.claims import ClaimWriter
from rag.answering.conflicts import show_conflicts
from rag.answering.context import ContextSentence, select_context
from rag.answering.followup import standalone
from rag.answering.part_search import gather, merged_hits
from rag.answering.parts import Decider, candidates_of, decides, parts_found
from rag.answering.picked import SentencePicker
from rag.answering.prompts import (
    ANSWER_SYSTEM,
    ANSWER_USER,
    NOTHING_FROM,
    PICK_SYSTEM,
    PICK_USER,
    SHORT_SYSTEM,
    SHORT_USER,
)
from rag.answering.short import ShortAnswerer
from rag.answering.stage import Event, Run, Stage
from rag.config import Settings
from rag.errors import UnsupportedLanguage
from rag.generators.base import GenerationRequest, Generator
from rag.reading.question import (
    CHOICE,
    COUNT,
    NAME,
    OTHER,
    REASON,
    TIME,
    YESNO,
    Reading,
    read_question,
)
from rag.reading.recency import Window
from rag.retrieval.retrieve import Retriever, check_history, check_question
from rag.slots import Slots
from rag.text import foreign_language
from rag.types import Filters, Hit

SHORT_KINDS = (NAME, TIME, COUNT)  # questions answered by a name, a time or a number
# and those answered as briefly: by one of the alternatives the question offers
BRIEF_KINDS = (*SHORT_KINDS, CHOICE)
STATEMENT_KINDS = (REASON, OTHER)  # answered by a statement: why, how, what happened


def prime(generator: Generator) -> None:
    """Have a backend that caches prompt prefixes read the answer instructions now (those of
    written claims, then those of short answers), so that the first question after start-up
    does not pay for them."""
    if not getattr(generator, "caches_prompt", False):
        return
    prompts = ((ANSWER_SYSTEM, ANSWER_USER), (SHORT_SYSTEM, SHORT_USER), (PICK_SYSTEM, PICK_USER))
    for system, user in prompts:
        request = GenerationRequest(
            messages=[
                {"role": "system", "content": system},
                {"role": "user", "content": user.format(context="", question="")},
            ],
            max_tokens=1,
        )
        for _ in generator.stream(request):
            pass


def check_language(question: str) -> None:
    language = foreign_language(question)
    if language:
        raise UnsupportedLanguage(
            f"the question looks like it is not in English ({language}); the indexed news and "
            "the answer model work in English"
        )


class Answerer(Stage):
    def __init__(
        self,
        retriever: Retriever,
        generator: Generator,
        settings: Settings,
        slots: Slots | None = None,
    ) -> None:
        super().__init__(generator, settings, retriever.embedder)
        self.retriever = retriever
        # Only language models queue; the extractive backend answers at once.
        self.slots = slots if generator.uses_llm else None
        self.decider = Decider(generator, settings, retriever)
        self.short = ShortAnswerer(generator, settings, retriever.embedder)
        self.alternatives = AlternativeAnswerer(generator, settings, retriever.embedder)
        self.claims = ClaimWriter(generator, settings, retriever.embedder)
        self.picker = SentencePicker(generator, settings, retriever.embedder)

    def answer(
        self, question: str, history: Sequence[dict[str, str]] = (), **kwargs: Any
    ) -> Answer:
        for kind, payload in self.stream(question, history, **kwargs):
            if kind == "done":
                return payload["answer"]
        raise RuntimeError("the answer stream ended without an answer")

    def stream(
        self,
        question: str,
        history: Sequence[dict[str, str]] = (),
        filters: Filters | None = None,
        k: int | None = None,
        now: datetime | None = None,
    ) -> collections.abc.Generator[Event, None, None]:
        """`now`: the time "yesterday" or "this week" is read against (the clock when None)."""
        started = time.perf_counter()
        question = check_question(question)
        check_history(history)
        check_language(question)
        run = Run(question, question, started)
        if history:
            with self._slot(run):
                run.standalone = standalone(
                    self.generator, question, history, self.settings.generator_timeout_s
                )
            started = run.mark("rewrite_ms", started)
        k = k or self.settings.answer_hits
        reading = read_question(run.standalone, self.retriever.outlets(), now)
        started = run.mark("read_ms", started)
        window = reading.window
        if window is None:
            yield from self._stream(run, reading, filters, k, started)
            return
        filters = _within(filters, window)
        for kind, payload in self._stream(run, reading, filters, k, started, window.latest):
            if kind == "done":
                answer = payload["answer"]
                answer.window = window.to_json()
                note = f"Read from {window.describe()}."
                answer.text = f"{answer.text} {note}" if answer.text else note
            yield kind, payload

    def _stream(
        self,
        run: Run,
        reading: Reading,
        filters: Filters | None,
        k: int,
        started: float,
        latest: bool = False,
    ) -> Iterator[Event]:
        parted = decides(reading) and not filters
        run.kind = reading.kind
        run.reading = reading
        if reading.unknown_sources:
            run.timings["unknown_source"] = 1
        if reading.unknown_sources and not parted:
            names = ", ".join(reading.unknown_sources)
            yield "done", {"answer": self._abstain(run, [], [], NOTHING_FROM.format(names))}
            return
        named = any(p.outlets for p in reading.parts)
        evidence = gather(self.retriever, run.standalone, reading, k) if named else []
        if parted:
            yield from self.decider.stream(run, reading, evidence)
            return
        hits = self.retriever.search(run.standalone, k, filters)
        hits = merged_hits(evidence, hits)[: k + len(evidence)] if evidence else hits
        if latest:
            hits = _newest(hits, self.settings.gate_min_similarity)
        t = run.mark("retrieve_ms", started)
        news = self.retriever.without_instructions(hits)
        brief = self._answers_short(reading)
        picks = self._picks_statement(reading)
        budget = self.settings.short_context_tokens if brief or picks else None
        context = self.select_context(run.standalone, news, budget)
        first = self.settings.short_first_tokens
        if brief and reading.kind != CHOICE and 0 < first < (budget or 0):
            run.first_read = self.select_context(run.standalone, news, first)
        run.timings["context_sentences"] = len(context)
        t = run.mark("context_ms", t)
        if not self._relevant(hits, context):
            run.timings["gate"] = 1
            yield "done", {"answer": self._abstain(run, context, [])}
            return
        # What will be read, cited, before any model call: a reader sees the evidence at once.
        yield "evidence", {"sentences": [asdict(Citation.of(c.n, c)) for c in context]}
        generate = self.claims.stream
        if brief:
            generate = self.alternatives.stream if reading.kind == CHOICE else self.short.stream
        elif picks:
            generate = self.picker.stream
        with self._slot(run):
            for kind, payload in generate(run, context, news, time.perf_counter()):
                if kind == "done":
                    answer = payload["answer"]
                    t = time.perf_counter()
                    read_articles = {c.article_id for c in context}
                    rest = [c for c in candidates_of(news) if c.article_id in read_articles]
                    others = [*context, *rest]
                    reads = self.generator.uses_llm and reading.kind == YESNO
                    judge = self.claims.judge(run.standalone) if reads else None
                    embedder = self.retriever.embedder
                    located = answer.citations[:1] if brief else None
                    if reading.kind != CHOICE:  # a choice is itself a reading of two reports
                        show_conflicts(
                            answer, reading.kind, others, embedder, judge, context, located
                        )
                    run.mark("conflicts_ms", t)
                    run.mark("total_ms", run.started)
                    answer.parts = parts_found(evidence, answer)
                yield kind, payload

    @contextmanager
    def _slot(self, run: Run) -> Iterator[None]:
        if self.slots is None:
            yield
            return
        waited = time.perf_counter()
        with self.slots.hold():
            run.timings["queue_ms"] = round((time.perf_counter() - waited) * 1000, 1)
            yield

    # --- stages ------------------------------------------------------------------------------
    def select_context(
        self, question: str, news: Sequence[Hit], budget: int | None = None
    ) -> list[ContextSentence]:
        """The sentences the model may cite: `rag.answering.context.select_context` under the
        budget."""
        return select_context(
            question,
            news,
            budget or self.settings.context_tokens,
            self.retriever.embedder.count_tokens,
        )

    def judge(self, question: str) -> Callable[[str], str | None]:
        """The model's reading of the answer one sentence gives a yes/no question
        (`ClaimWriter.judge`)."""
        return self.claims.judge(question)

    def _answers_short(self, reading: Reading) -> bool:
        return (
            self.settings.short_answers and self.generator.uses_llm and reading.kind in BRIEF_KINDS
        )

    def _picks_statement(self, reading: Reading) -> bool:
        return (
            self.settings.statement_answers == "picked"
            and self.generator.uses_llm
            and reading.kind in STATEMENT_KINDS
        )

    def _relevant(self, hits: Sequence[Hit], context: Sequence[ContextSentence]) -> bool:
        """The gate before any model call: is anything retrieved about the question at all?"""
        if not context:
            return False
        best_dense = max((h.dense_similarity or 0.0 for h in hits), default=0.0)
        best_lexical = max(c.relevance for c in context)
        return (
            best_dense >= self.settings.gate_min_similarity
            or best_lexical >= self.settings.gate_min_overlap
        )


def _within(filters: Filters | None, window: Window) -> Filters | None:
    """The request's filters narrowed to the window (the later start, the earlier end)."""
    base = filters or Filters()
    if window.after is None and window.before is None:
        return filters
    after = [t for t in (base.published_after, window.after) if t is not None]
    before = [t for t in (base.published_before, window.before) if t is not None]
    return Filters(base.sources, max(after, default=None), min(before, default=None))


def _newest(hits: Sequence[Hit], min_similarity: float) -> list[Hit]:
    """ "The latest": among the hits about the question, those of the newest article (and of
    any published the same day), newest first."""
    relevant = [h for h in hits if (h.dense_similarity or 0.0) >= min_similarity]
    dated = [h for h in relevant if h.published_at is not None]
    if not dated:
        return list(hits)
    newest = max(h.published_at for h in dated)  # type: ignore[type-var]
    day = 24 * 3600
    keep = [h for h in dated if h.published_at >= newest - day]  # type: ignore[operator]
    return sorted(keep, key=lambda h: -h.published_at)  # type: ignore[operator]
