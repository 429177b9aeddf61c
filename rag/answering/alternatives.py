"""Alternative questions: "did the review agree or disagree ...?" is answered with one of them.

A question whose predicate offers alternatives (`rag.reading.question`, kind CHOICE: "agree or
disagree", "consistent or inconsistent") asks which holds; "Yes" or "No" answers nothing. The
model reads the context as for a short answer, with the alternatives listed after the
question, and its reply is held to one of them or "not stated" by a grammar (where the backend
takes one; elsewhere a reply that is none of them is said to be so and not shown). The choice
is a judgement over the reports read, not a phrase any of them writes, so it cites each
report's sentence closest to the question: that of each outlet the question names, else of
the articles read most about it. Its confidence is calibrated from the reply's probability as
a short answer's is (`rag.answering.confidence`).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence

from rag.answering.answer_types import AnswerSentence
from rag.answering.confidence import calibrated, too_unsure
from rag.answering.context import ContextSentence, question_terms, relevance
from rag.answering.names import NOT_STATED, answer_words
from rag.answering.prompts import ABSTAIN_TEXT, SHORT_CHOICE
from rag.answering.short import SHORT_MAX_TOKENS, probability, short_messages
from rag.answering.stage import Event, Run, Stage
from rag.generators.base import GenerationRequest
from rag.types import Hit

CHOICE_MODE = "choice"
OUTSIDE = f"{ABSTAIN_TEXT} The model's answer is none of the alternatives the question offers."
CITED_REPORTS = 2  # reports a choice cites: the two an alternative question compares


class AlternativeAnswerer(Stage):
    def stream(
        self, run: Run, context: list[ContextSentence], news: Sequence[Hit], t: float
    ) -> Iterator[Event]:
        reading = run.reading
        offered = reading.alternatives if reading else ()
        held = getattr(self.generator, "supports_grammar", False)
        messages = short_messages(
            context, run.standalone, SHORT_CHOICE.format(options="; ".join(offered))
        )
        options = " | ".join(json.dumps(o) for o in [*offered, NOT_STATED])
        request = GenerationRequest(
            messages=messages,
            max_tokens=SHORT_MAX_TOKENS,
            timeout_s=self.settings.generator_timeout_s,
            grammar=f"root ::= {options}" if held else None,
            logprobs=True,
        )
        reply = ""
        for delta in self.generator.stream(request):
            if "first_output_ms" not in run.timings:
                run.mark("first_output_ms", run.started)
            reply += delta
        t = run.mark("generate_ms", t)
        chance = probability(request.token_logprobs)
        confidence = calibrated(chance)
        chosen = chosen_of(reply, offered)
        cited = reports(context, run) if chosen else []
        run.mark("verify_ms", t)
        run.mark("ttft_ms", run.started)
        if chosen is None or not cited or too_unsure(confidence, self.settings.short_abstain_below):
            said = " ".join(answer_words(reply)) == NOT_STATED
            reason = "not_stated" if said else "outside" if chosen is None else "unsure"
            run.timings[reason] = 1
            shown = [] if said else [AnswerSentence(reply.strip(), [], False)]
            answer = self._abstain(
                run, context, shown, OUTSIDE if reason == "outside" else ABSTAIN_TEXT
            )
            answer.mode, answer.reply_probability = CHOICE_MODE, chance
            yield "done", {"answer": answer}
            return
        text = chosen[:1].upper() + chosen[1:] + "."
        yield from self._stated(run, text, cited, CHOICE_MODE, chance, confidence)


def chosen_of(reply: str, offered: Sequence[str]) -> str | None:
    """The alternative the reply is (as the question writes it), or None."""
    words = answer_words(reply)
    return next((o for o in offered if answer_words(o) == words), None)


def reports(context: Sequence[ContextSentence], run: Run) -> list[ContextSentence]:
    """The sentence closest to the question of each outlet the question names (else of each
    article read, those most about the question first), `CITED_REPORTS` at most."""
    terms = question_terms(run.standalone)
    ranked = sorted(context, key=lambda c: -relevance(terms, c.sentence.text))
    named = [s for p in run.reading.parts for s in p.sources] if run.reading else []
    out: list[ContextSentence] = []
    for outlet in dict.fromkeys(named):
        item = next((c for c in ranked if c.source == outlet and c not in out), None)
        if item is not None:
            out.append(item)
    for item in ranked:
        if item.article_id not in {c.article_id for c in out}:
            out.append(item)
    return out[:CITED_REPORTS]
