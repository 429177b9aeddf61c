"""Statements picked, not written: a question whose answer is a statement (why, how, what
happened: `rag.reading.question` REASON and OTHER) is answered by the sentence the model points
to, shown in the source's own words and cited by construction.

The model reads the numbered context and replies with the opening words of the sentence that
answers, held by a grammar to the sentences' openings or "not stated" on a backend that takes
grammars; elsewhere its free reply must quote an opening. Quoting is pointing by content: the
packaged 1.5B, asked for a sentence's number instead, answered "1" to every question of the
seed set. Nothing is written, so nothing unsupported can be shown: a sentence that does not
answer the question is at worst shown as what its outlet said, under its outlet and date.
"not stated", or a reply that quotes no opening, abstains and says why.

The pick's probability under the model (`reply_probability`, where the backend reports token
probabilities) is not calibrated: neither split of the benchmark asks such questions, so
`confidence` stays unset and `mode` says so.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Sequence

from rag.answering.answer_types import AnswerSentence
from rag.answering.context import ContextSentence, render_context
from rag.answering.prompts import ABSTAIN_TEXT, PICK_SYSTEM, PICK_USER, PICK_WITHHELD
from rag.answering.stage import Event, Run, Stage
from rag.generators.base import GenerationRequest
from rag.types import Hit

PICK_MODE = "picked"
UNCALIBRATED = f"{PICK_MODE}, its probability not calibrated"
NONE = "not stated"  # the reply that no sentence read answers the question
OPENING_WORDS = 6  # words of a sentence's opening the model quotes to point at it


def openings(context: Sequence[ContextSentence]) -> dict[str, ContextSentence]:
    """Each sentence read by its opening words, as few as tell it from the others (at least
    `OPENING_WORDS`, unless the sentence is shorter); a sentence whose opening is another's
    whole text points at the first."""
    out: dict[str, ContextSentence] = {}
    for item in context:
        words = item.sentence.text.split()
        count = OPENING_WORDS
        while " ".join(words[:count]) in out and count < len(words):
            count += 1
        out.setdefault(" ".join(words[:count]), item)
    return out


def pick_grammar(options: Sequence[str]) -> str:
    """GBNF holding a reply to one of `options` or "not stated"."""
    quoted = (json.dumps(o, ensure_ascii=False) for o in [*options, NONE])
    return "root ::= " + " | ".join(quoted)


def picked(reply: str, options: dict[str, ContextSentence]) -> ContextSentence | None:
    """The sentence whose opening the reply quotes (a free reply may quote more of it)."""
    text = " ".join(reply.split())
    for opening, item in options.items():
        if text == opening or (text.startswith(opening) and item.sentence.text.startswith(text)):
            return item
    return None


class SentencePicker(Stage):
    def stream(
        self, run: Run, context: list[ContextSentence], news: Sequence[Hit], t: float
    ) -> Iterator[Event]:
        """The sentence the model points to, shown and cited (`rag.answering.picked`)."""
        options = openings(context)
        takes_grammar = getattr(self.generator, "supports_grammar", False)
        grammar = pick_grammar(list(options)) if takes_grammar else None
        user = PICK_USER.format(context=render_context(context), question=run.standalone)
        request = GenerationRequest(
            messages=[
                {"role": "system", "content": PICK_SYSTEM},
                {"role": "user", "content": user},
            ],
            max_tokens=64,
            timeout_s=self.settings.generator_timeout_s,
            grammar=grammar,
            logprobs=True,
        )
        run.timings["prompt_tokens"] = sum(
            self.embedder.count_tokens([m["content"] for m in request.messages])
        )
        reply = "".join(self.generator.stream(request)).strip()
        t = run.mark("generate_ms", t)
        logprobs = request.token_logprobs
        chance = math.exp(sum(logprobs)) if logprobs else None
        item = picked(reply, options)
        run.mark("verify_ms", t)
        run.mark("ttft_ms", run.started)
        if item is None:
            reason = "none" if reply.strip().lower().rstrip(".") == NONE else "outside"
            run.timings[f"picked_{reason}"] = 1
            shown = [AnswerSentence(reply, [], False)] if reason == "outside" else []
            answer = self._abstain(run, context, shown, PICK_WITHHELD.get(reason, ABSTAIN_TEXT))
            answer.mode, answer.reply_probability = PICK_MODE, chance
            yield "done", {"answer": answer}
            return
        mode = UNCALIBRATED if chance is not None else PICK_MODE
        yield from self._stated(run, item.sentence.text, [item], mode, chance, None)
