"""Question in, grounded answer out: retrieve -> select context -> generate -> verify.

Three paths (`Answer.mode`): a yes/no question about what named outlets report is decided by
parts (`rag.parts`, no model); a question asking for a name, a time or a number is answered
short by a language model and located in what it read (`rag.short`); any other question, or
any question on the extractive backend, is answered in written claims, each checked.

`Answerer.stream` yields events as they happen: `evidence` (the context sentences the model
will read, each as a citation numbered as in the prompt, before any model call), `token`
(answer text as it is generated; a short answer's text once it is located, `rag.short`),
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
repeats the question, stands in no sentence it read, or is too unsure (`rag.confidence`).
"""

from __future__ import annotations

import collections.abc
import json
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from typing import Any

from rag import short
from rag.answer_types import Answer, AnswerSentence, Citation
from rag.citations import (
    COVERS_QUESTION,
    SOURCE_WORDS,
    Claim,
    SupportChecker,
    is_abstention,
    parse_answer,
)
from rag.claim_stream import ClaimReader, json_field
from rag.confidence import calibrated, corroborated_confidence, too_unsure
from rag.config import Settings
from rag.conflicts import CLOSEST, show_conflicts
from rag.context import ContextSentence, render_context, select_context
from rag.errors import GeneratorUnavailable, UnsupportedLanguage
from rag.followup import standalone
from rag.generators.base import GenerationRequest, Generator
from rag.parts import (
    MISSING,
    SUPPORTED,
    Finding,
    PartEvidence,
    candidates_of,
    decides,
    find,
    gather,
    merged_hits,
    parts_found,
    shown_part,
    verdict,
)
from rag.prompts import (
    ABSTAIN_TEXT,
    ANSWER_PREFILL,
    ANSWER_REST_GRAMMAR,
    ANSWER_SCHEMA,
    ANSWER_SYSTEM,
    ANSWER_USER,
    NOTHING_FROM,
    SHORT_GRAMMAR,
    SHORT_SYSTEM,
    SHORT_USER,
    SHORT_WITHHELD,
    VERDICT_SCHEMA,
    VERDICT_SYSTEM,
    VERDICT_USER,
)
from rag.question import COUNT, NAME, TIME, YESNO, Reading, read_question
from rag.recency import Window
from rag.retrieve import Retriever, check_history, check_question
from rag.slots import Slots
from rag.text import content_stems, foreign_language
from rag.types import Filters, Hit

Event = tuple[str, dict[str, Any]]
SHORT_KINDS = (NAME, TIME, COUNT)  # questions answered by a name, a time or a number
SHORT_MAX_TOKENS = 24  # a name or a date; a reply cut here is unlikely to be located
SHORT_MODE = "short"
NO_LOGPROBS = "the backend reports no token probabilities: no confidence"


@dataclass
class _Run:
    question: str
    standalone: str
    started: float
    timings: dict[str, float] = field(default_factory=dict)
    kind: str = ""  # what the question asks for (rag.question)

    def mark(self, name: str, since: float) -> float:
        now = time.perf_counter()
        self.timings[name] = round((now - since) * 1000, 1)
        return now


def prime(generator: Generator) -> None:
    """Have a backend that caches prompt prefixes read the answer instructions now (those of
    written claims, then those of short answers), so that the first question after start-up
    does not pay for them."""
    if not getattr(generator, "caches_prompt", False):
        return
    for system, user in ((ANSWER_SYSTEM, ANSWER_USER), (SHORT_SYSTEM, SHORT_USER)):
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


class Answerer:
    def __init__(
        self,
        retriever: Retriever,
        generator: Generator,
        settings: Settings,
        slots: Slots | None = None,
    ) -> None:
        self.retriever = retriever
        self.generator = generator
        self.settings = settings
        # Only language models queue; the extractive backend answers at once.
        self.slots = slots if generator.uses_llm else None

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
        run = _Run(question, question, started)
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
        run: _Run,
        reading: Reading,
        filters: Filters | None,
        k: int,
        started: float,
        latest: bool = False,
    ) -> Iterator[Event]:
        parted = decides(reading) and not filters
        run.kind = reading.kind
        if reading.unknown_sources:
            run.timings["unknown_source"] = 1
        if reading.unknown_sources and not parted:
            names = ", ".join(reading.unknown_sources)
            yield "done", {"answer": self._abstain(run, [], [], NOTHING_FROM.format(names))}
            return
        named = any(p.outlets for p in reading.parts)
        evidence = gather(self.retriever, run.standalone, reading, k) if named else []
        if parted:
            yield from self._decide(run, reading, evidence)
            return
        hits = self.retriever.search(run.standalone, k, filters)
        hits = merged_hits(evidence, hits)[: k + len(evidence)] if evidence else hits
        if latest:
            hits = _newest(hits, self.settings.gate_min_similarity)
        t = run.mark("retrieve_ms", started)
        news = self.retriever.without_instructions(hits)
        brief = self._answers_short(reading)
        budget = self.settings.short_context_tokens if brief else None
        context = self.select_context(run.standalone, news, budget)
        run.timings["context_sentences"] = len(context)
        t = run.mark("context_ms", t)
        if not self._relevant(hits, context):
            run.timings["gate"] = 1
            yield "done", {"answer": self._abstain(run, context, [])}
            return
        # What will be read, cited, before any model call: a reader sees the evidence at once.
        yield "evidence", {"sentences": [asdict(Citation.of(c.n, c)) for c in context]}
        generate = self._short if brief else self._generate
        with self._slot(run):
            for kind, payload in generate(run, context, news, time.perf_counter()):
                if kind == "done":
                    answer = payload["answer"]
                    t = time.perf_counter()
                    read_articles = {c.article_id for c in context}
                    rest = [c for c in candidates_of(news) if c.article_id in read_articles]
                    others = [*context, *rest]
                    reads = self.generator.uses_llm and reading.kind == YESNO
                    judge = self.judge(run.standalone) if reads else None
                    embedder = self.retriever.embedder
                    located = answer.citations[:1] if brief else None
                    show_conflicts(answer, reading.kind, others, embedder, judge, context, located)
                    run.mark("conflicts_ms", t)
                    run.mark("total_ms", run.started)
                    answer.parts = parts_found(evidence, answer)
                yield kind, payload

    def _decide(self, run: _Run, reading: Reading, evidence: list[PartEvidence]) -> Iterator[Event]:
        """A yes/no question about what named outlets report: a finding per part, cited, and
        the verdict composed from them (`rag.parts`)."""
        t = run.mark("retrieve_ms", run.started)
        numbers: dict[str, int] = {}
        citations: list[Citation] = []
        sentences: list[AnswerSentence] = []
        parts: list[dict[str, Any]] = []
        findings: list[Finding] = []
        for part_evidence in evidence:
            part_evidence.hits = self.retriever.without_instructions(part_evidence.hits)
            finding = find(part_evidence, self.retriever.embedder.embed)
            findings.append(finding)
            marks: list[int] = []
            if finding.sentence is not None:
                key = finding.sentence.sentence.id
                if key not in numbers:
                    numbers[key] = len(citations) + 1
                    citations.append(Citation.of(numbers[key], finding.sentence))
                    yield "citation", asdict(citations[-1])
                marks = [numbers[key]]
            part = shown_part(finding, marks)
            parts.append(part)
            if finding.status != MISSING:
                sentences.append(AnswerSentence(part["finding"], marks, True))
            if "ttft_ms" not in run.timings:
                run.mark("ttft_ms", run.started)  # the first verified text a reader sees
            yield "part", part
        run.mark("verify_ms", t)
        said = verdict(reading, findings)
        if said is None:
            missing = [f for f in findings if f.status == MISSING]
            text = (
                NOTHING_FROM.format(" or ".join(missing[0].part.outlets))
                if missing
                else ABSTAIN_TEXT
            )
            answer = self._abstain(run, [], sentences, text)
            answer.parts = parts
            yield "done", {"answer": answer}
            return
        deciding = [
            numbers[f.sentence.sentence.id]
            for f in findings
            if f.sentence is not None and (said == "Yes" or f.status != SUPPORTED)
        ]
        opening = AnswerSentence(f"{said}.", sorted(set(deciding)), True)
        yield "verdict", {"text": opening.text, "citations": opening.citations}
        for i, s in enumerate(sentences):
            yield (
                "sentence",
                {"index": i + 1, "text": s.text, "supported": True, "citations": s.citations},
            )
        shown = [opening, *sentences]
        text = " ".join(f"{s.text} " + "".join(f"[{n}]" for n in s.citations) for s in shown)
        run.timings["total_ms"] = round((time.perf_counter() - run.started) * 1000, 1)
        answer = Answer(
            run.question,
            run.standalone,
            text.strip(),
            shown,
            citations,
            False,
            timings=run.timings,
            model="parts",
            backend=self.generator.name,
            parts=parts,
            mode="parts",
        )
        yield "done", {"answer": answer}

    @contextmanager
    def _slot(self, run: _Run) -> Iterator[None]:
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
        """The sentences the model may cite: `rag.context.select_context` under the budget."""
        return select_context(
            question,
            news,
            budget or self.settings.context_tokens,
            self.retriever.embedder.count_tokens,
        )

    def _answers_short(self, reading: Reading) -> bool:
        return (
            self.settings.short_answers and self.generator.uses_llm and reading.kind in SHORT_KINDS
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

    def judge(self, question: str) -> Callable[[str], str | None]:
        """The model's reading of the answer one sentence gives a yes/no question: "yes",
        "no", or None where it does not say or the reply is unusable. A sentence that holds
        less of the question than a claim must to imply a verdict is not asked about (small
        models give a verdict for any sentence). A backend that fails once is not asked again
        for this answer: the answer stands without the check."""
        failed: list[GeneratorUnavailable] = []
        asked = content_stems(question) - SOURCE_WORDS

        def judge(sentence: str) -> str | None:
            if failed or not asked:
                return None
            if len(asked & content_stems(sentence)) / len(asked) < COVERS_QUESTION:
                return None  # it says too little of the question to answer it (as a claim)
            request = GenerationRequest(
                messages=[
                    {"role": "system", "content": VERDICT_SYSTEM},
                    {
                        "role": "user",
                        "content": VERDICT_USER.format(question=question, sentence=sentence),
                    },
                ],
                json_schema=VERDICT_SCHEMA if self.generator.supports_json_schema else None,
                max_tokens=12,
                timeout_s=self.settings.generator_timeout_s,
            )
            try:
                raw = "".join(self.generator.stream(request))
            except GeneratorUnavailable as error:  # a timeout is one too
                failed.append(error)
                return None
            said = (json_field(raw, "answer") or raw).strip().lower()
            return said if said in ("yes", "no") else None

        return judge

    def _generate(
        self, run: _Run, context: list[ContextSentence], news: Sequence[Hit], t: float
    ) -> Iterator[Event]:
        request = GenerationRequest(
            messages=[
                {"role": "system", "content": ANSWER_SYSTEM},
                {
                    "role": "user",
                    "content": ANSWER_USER.format(
                        context=render_context(context), question=run.standalone
                    ),
                },
            ],
            json_schema=ANSWER_SCHEMA if self.generator.supports_json_schema else None,
            max_tokens=self.settings.answer_max_tokens,
            timeout_s=self.settings.generator_timeout_s,
            question=run.standalone,
            context=context,
            prefill=ANSWER_PREFILL,
            prefill_grammar=ANSWER_REST_GRAMMAR,
        )
        run.timings["prompt_tokens"] = sum(
            self.retriever.embedder.count_tokens([m["content"] for m in request.messages])
        )
        checker = SupportChecker(run.standalone, context, self.retriever.embedder.embed, news)
        verified = _Verified(checker)
        reader = ClaimReader()
        # A backend that continues the prefill streams only what follows it.
        opening = ANSWER_PREFILL if getattr(self.generator, "supports_prefill", False) else ""
        raw: list[str] = [opening]
        list(reader.feed(opening))  # no claim text yet: nothing to yield
        for delta in self.generator.stream(request):
            if "first_output_ms" not in run.timings:
                run.mark("first_output_ms", run.started)  # the model's first token
            raw.append(delta)
            for kind, value in reader.feed(delta):
                if kind == "text":
                    if "ttft_ms" not in run.timings:
                        run.mark("ttft_ms", run.started)  # the first answer text a reader sees
                    index, text = value
                    yield "token", {"text": text, "sentence": index}
                elif not is_abstention(value.text):
                    yield from verified.add(value)
        if "ttft_ms" not in run.timings:
            run.mark("ttft_ms", run.started)  # no answer text came: the reply ended here
        run.mark("generate_ms", t)
        parsed = parse_answer("".join(raw))
        if not reader.claims_seen:
            # A reply that was not the streamed JSON shape: check its claims now.
            for claim in parsed.claims:
                yield from verified.add(claim)
        run.timings["verify_ms"] = round(verified.seconds * 1000, 1)
        supported = [s for s in verified.sentences if s.supported]
        if supported and not verified.checker.gives_answer([s.text for s in supported]):
            # True and cited, but not what the question asks for: not shown, so its marks would
            # point at citations the abstention does not carry.
            run.timings["off_point"] = 1
            verified.sentences = [
                AnswerSentence(s.text, [], s.supported) for s in verified.sentences
            ]
            supported = []
        if not parsed.answerable or not supported:
            yield "done", {"answer": self._abstain(run, context, verified.sentences)}
            return
        if verified.verdict is not None:
            verified.sentences.insert(0, verified.verdict)
            supported.insert(0, verified.verdict)
        text = " ".join(f"{s.text} " + "".join(f"[{n}]" for n in s.citations) for s in supported)
        run.timings["total_ms"] = round((time.perf_counter() - run.started) * 1000, 1)
        answer = Answer(
            run.question,
            run.standalone,
            text.strip(),
            verified.sentences,
            verified.citations,
            False,
            timings=run.timings,
            model=self.generator.model_id,
            backend=self.generator.name,
            mode="claims",
        )
        yield "done", {"answer": answer}

    def _short(
        self, run: _Run, context: list[ContextSentence], news: Sequence[Hit], t: float
    ) -> Iterator[Event]:
        """The answer alone, from the model, located in the sentences it read (`rag.short`)."""
        request = GenerationRequest(
            messages=[
                {"role": "system", "content": SHORT_SYSTEM},
                {
                    "role": "user",
                    "content": SHORT_USER.format(
                        context=render_context(context), question=run.standalone
                    ),
                },
            ],
            max_tokens=SHORT_MAX_TOKENS,
            timeout_s=self.settings.generator_timeout_s,
            grammar=SHORT_GRAMMAR,
            logprobs=True,
        )
        run.timings["prompt_tokens"] = sum(
            self.retriever.embedder.count_tokens([m["content"] for m in request.messages])
        )
        reply = ""
        for delta in self.generator.stream(request):
            if "first_output_ms" not in run.timings:
                run.mark("first_output_ms", run.started)
            reply += delta
        reply = reply.strip()
        t = run.mark("generate_ms", t)
        probability = short.probability(request.token_logprobs)
        confidence = calibrated(probability)
        if short.says_nothing(reply):
            located, reason = None, "not_stated"
        elif short.repeats(reply, run.standalone):
            located, reason = None, "repeats"
        else:
            located = short.locate(reply, context)
            reason = "unlocated" if located is None else "unsure"
            if located is not None and run.kind == NAME and self.settings.corroborate_names:
                located, probability = self._corroborate(
                    run, request, located, probability, context, news
                )
                if run.timings.get("corroborated"):
                    confidence = corroborated_confidence()
        run.mark("verify_ms", t)
        run.mark("ttft_ms", run.started)  # the answer, or the abstention, is shown from here
        if located is None or too_unsure(confidence, self.settings.short_abstain_below):
            # Not stated, nothing new, stated nowhere it read, or too unsure: not shown as fact.
            run.timings[reason] = 1
            shown = [] if reason == "not_stated" else [AnswerSentence(reply, [], False)]
            text = SHORT_WITHHELD.get(reason, ABSTAIN_TEXT)
            answer = self._abstain(run, context, shown, text)
            answer.mode, answer.reply_probability = SHORT_MODE, probability
            yield "done", {"answer": answer}
            return
        read = [*context, *candidates_of(news)]
        cited = short.witnesses(located, run.standalone, read, self.settings.short_cited_articles)
        citations = [Citation.of(n, item) for n, item in enumerate(cited, start=1)]
        for citation in citations:
            yield "citation", asdict(citation)
        marks = [c.n for c in citations]
        yield "token", {"text": located.text, "sentence": 0}
        sentence = AnswerSentence(located.text, marks, True)
        yield "sentence", {"index": 0, "text": sentence.text, "supported": True, "citations": marks}
        run.mark("total_ms", run.started)
        answer = Answer(
            run.question,
            run.standalone,
            f"{located.text} " + "".join(f"[{n}]" for n in marks),
            [sentence],
            citations,
            False,
            timings=run.timings,
            model=self.generator.model_id,
            backend=self.generator.name,
            mode=SHORT_MODE if probability is not None else f"{SHORT_MODE}, {NO_LOGPROBS}",
            reply_probability=probability,
            confidence=confidence,
        )
        yield "done", {"answer": answer}

    def _corroborate(
        self,
        run: _Run,
        request: GenerationRequest,
        located: short.Located,
        probability: float | None,
        context: list[ContextSentence],
        news: Sequence[Hit],
    ) -> tuple[short.Located, float | None]:
        """The name more of the articles found name, in place of the model's reply
        (`short.corroborated`), cited where it stands. Its probability is the model's for that
        name: the same prompt, the reply held to it by a grammar (the prompt is read from the
        cache). A backend without grammars gives it none."""
        found = candidates_of(news)
        better = short.corroborated(located.text, run.standalone, [*context, *found])
        moved = better and (short.locate(better, context) or short.locate(better, found))
        if not moved:
            return located, probability
        run.timings["corroborated"] = 1
        if not getattr(self.generator, "supports_grammar", False):
            return moved, None
        forced = replace(request, grammar=f"root ::= {json.dumps(moved.text)}", token_logprobs=[])
        for _ in self.generator.stream(forced):
            pass
        return moved, short.probability(forced.token_logprobs)

    def _abstain(
        self,
        run: _Run,
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


class _Verified:
    """Checks claims one by one, numbering citations in order of first use."""

    def __init__(self, checker: SupportChecker) -> None:
        self.checker = checker
        self.numbers: dict[int, int] = {}  # context n -> citation number
        self.citations: list[Citation] = []
        self.sentences: list[AnswerSentence] = []
        self.verdict: AnswerSentence | None = None  # what the first supported claim implies
        self.seconds = 0.0

    def add(self, claim: Claim) -> Iterator[Event]:
        started = time.perf_counter()
        checked = self.checker.check(claim)
        self.seconds += time.perf_counter() - started
        cites = checked.cites if checked.supported else []
        for n in cites:
            if n not in self.numbers:
                self.numbers[n] = len(self.citations) + 1
                self.citations.append(Citation.of(self.numbers[n], self.checker.by_n[n]))
                yield "citation", asdict(self.citations[-1])
        marks = [self.numbers[n] for n in cites]
        first = checked.supported and not any(s.supported for s in self.sentences)
        if first and (said := self.checker.supported_verdict(checked.text, cites)):
            # The answer opens with the verdict its first claim implies, cited as that claim is.
            self.verdict = AnswerSentence(f"{said}.", marks, True)
            yield "verdict", {"text": self.verdict.text, "citations": marks}
        self.sentences.append(AnswerSentence(checked.text, marks, checked.supported))
        yield (
            "sentence",
            {
                "index": len(self.sentences) - 1,
                "text": checked.text,
                "supported": checked.supported,
                "citations": marks,
            },
        )
