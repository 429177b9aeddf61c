"""Written claims: the model writes its answer as JSON claims, each citing context sentences
by number; each claim is checked in code as soon as it is read from the stream
(`rag.answering.citations.SupportChecker`), and only supported claims are shown. The path of any
question that is neither decided by parts nor answered short, and of every question on the
extractive backend.

`ClaimWriter.judge` is the model's reading of the answer one sentence gives a yes/no question,
by which reports that differ are found (`rag.answering.conflicts`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict

from rag.answering.answer_types import Answer, AnswerSentence, Citation
from rag.answering.citations import COVERS_QUESTION, SOURCE_WORDS, SupportChecker
from rag.answering.claim_stream import Claim, ClaimReader, is_abstention, json_field, parse_answer
from rag.answering.context import ContextSentence, render_context
from rag.answering.prompts import (
    ANSWER_PREFILL,
    ANSWER_REST_GRAMMAR,
    ANSWER_SCHEMA,
    ANSWER_SYSTEM,
    ANSWER_USER,
    VERDICT_SCHEMA,
    VERDICT_SYSTEM,
    VERDICT_USER,
)
from rag.answering.stage import Event, Run, Stage
from rag.errors import GeneratorUnavailable
from rag.generators.base import GenerationRequest
from rag.text import content_stems
from rag.types import Hit


class ClaimWriter(Stage):
    def stream(
        self, run: Run, context: list[ContextSentence], news: Sequence[Hit], t: float
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
            self.embedder.count_tokens([m["content"] for m in request.messages])
        )
        checker = SupportChecker(run.standalone, context, self.embedder.embed, news, run.reading)
        verified = Verified(checker)
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


class Verified:
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
