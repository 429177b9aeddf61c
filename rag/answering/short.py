"""Short answers: the name, time or number a question asks for, read by the model and located.

The model reads the context and replies with the answer alone (a few tokens, no written
claims). The reply is then located in the sentences it read (`rag.answering.names.locate`): the
sentence that holds it, word for word, is its citation, so the citation is right by construction. A
reply found in nothing read, or that only repeats the question, is not shown as fact. With
`choose_unlocated` set, the model is asked again: the same prompt with the names (dates,
amounts) the sentences hold of the kind asked for listed after the question, its reply held to
one of them or "not stated" by a grammar (`rag.answering.names.choices`); the name it chooses is
located like any reply. It is off by default: the packaged 1.5B, made to choose, answers what the
news does not say more often than it finds a name it missed (docs/eval/README.md). A reply that
only repeats the question found the story but named the wrong one of its names: it is asked
again so by default (`choose_repeats`).

Most answers stand in the few sentences closest to the question, and every token of context
costs time before the answer. With `short_first_tokens` set, the model reads those sentences
first (that budget of them); a reply located there whose confidence reaches
`short_first_accept` is the answer, and any other reply (not stated, unlocated, unsure) is
asked again of the whole context, as if there had been no first reading. A backend that gives
no token probabilities never makes a first reply sure, so it reads the whole context at once.

A reply that runs into its length cap (`SHORT_CHARS` characters or `SHORT_MAX_TOKENS` tokens)
is a statement cut mid-phrase, not a name: the sentence it stands in is shown whole.

A name the articles found share more than the reply takes its place
(`rag.answering.names.corroborated`); a name read where a later mention shortens it ("the Fed",
"Altman") is shown as the articles write it whole (`rag.answering.names.fullest`); and the answer
is cited from each article read that names it (`rag.answering.names.witnesses`).

A question that offers a choice between outlets ("Between the TechCrunch report and The Verge
report ..., which news source reported ...?") is answered by the articles rather than the
model's pick: the offered outlet whose articles best support what the question asks the
chosen one did (the parts' support model, `rag.answering.parts.find`) is the answer (`_choose`).

The reply's probability (the product of its tokens' probabilities, where the backend reports
them) is what its confidence is calibrated from (`rag.answering.confidence`).
"""

from __future__ import annotations

import json
import math
import weakref
from collections.abc import Iterator, Sequence
from dataclasses import replace
from typing import Any

from rag.answering.answer_types import AnswerSentence
from rag.answering.confidence import calibrated, corroborated_confidence, too_unsure
from rag.answering.context import ContextSentence, render_context
from rag.answering.names import (
    NOT_STATED,
    Located,
    choices,
    corroborated,
    fullest,
    locate,
    names_it,
    repeats,
    says_nothing,
    witnesses,
)
from rag.answering.part_search import PartEvidence
from rag.answering.parts import SUPPORTED, candidates_of, find
from rag.answering.prompts import (
    ABSTAIN_TEXT,
    SHORT_CHARS,
    SHORT_CHOICE,
    SHORT_GRAMMAR,
    SHORT_SYSTEM,
    SHORT_USER,
    SHORT_WITHHELD,
)
from rag.answering.stage import Event, Run, Stage
from rag.generators.base import GenerationRequest
from rag.reading.question import NAME, Part, Reading
from rag.types import Hit

SHORT_MAX_TOKENS = 24  # a name or a date; a reply cut here is unlikely to be located
SHORT_MODE = "short"


def short_messages(
    context: Sequence[ContextSentence], question: str, after: str = ""
) -> list[dict[str, str]]:
    """The short answer's prompt: its instructions, the context and the question, then `after`
    (appended, so the context before it is read from the prompt cache)."""
    user = SHORT_USER.format(context=render_context(context), question=question)
    return [{"role": "system", "content": SHORT_SYSTEM}, {"role": "user", "content": user + after}]


def _cut(reply: str, request: GenerationRequest) -> bool:
    """Did the reply run into its length cap (the grammar's characters or the tokens allowed)?"""
    return len(reply) >= SHORT_CHARS or len(request.token_logprobs) >= SHORT_MAX_TOKENS


def probability(logprobs: Sequence[float]) -> float | None:
    """The reply's probability under the model: the product of its tokens' probabilities."""
    return math.exp(sum(logprobs)) if logprobs else None


def _picks(reading: Reading, located: Located) -> list[str]:
    """The outlets the question offers to choose between that the reply names."""
    return [o for o in reading.offered if names_it(located.text, o) or names_it(o, located.text)]


# Backends seen to give no token probabilities: no first reply of theirs can be sure, so they
# read the whole context at once (`Settings.short_first_tokens`). One generator serves every
# request of a service (`rag.desk.Desk.generator`); an answerer lives for one.
_WITHOUT_PROBABILITIES: weakref.WeakSet[Any] = weakref.WeakSet()


class ShortAnswerer(Stage):
    def stream(
        self, run: Run, context: list[ContextSentence], news: Sequence[Hit], t: float
    ) -> Iterator[Event]:
        """The answer alone, from the model, located in the sentences it read
        (`rag.answering.short`)."""
        first = run.first_read
        narrow = self.generator not in _WITHOUT_PROBABILITIES and 0 < len(first) < len(context)
        request, reply, located, reason = self._read(run, first if narrow else context)
        t = run.mark("generate_ms", t)
        chance = probability(request.token_logprobs)
        confidence = calibrated(chance)
        if narrow:
            sure = located is not None and (confidence or 0.0) >= self.settings.short_first_accept
            run.timings["first_confidence"] = -1.0 if located is None else (confidence or 0.0)
            if chance is None:  # a backend without token probabilities: never sure enough
                _WITHOUT_PROBABILITIES.add(self.generator)
            if not sure:  # read again: the whole context
                run.timings["widened"] = 1
                request, reply, located, reason = self._read(run, context)
                t = run.mark("generate_ms", t)
                chance = probability(request.token_logprobs)
                confidence = calibrated(chance)
        naming: list[ContextSentence] = []  # the located sentence, then other articles naming it
        chosen = None
        if located is None and self._may_choose(reason):
            chosen, chosen_chance = self._choose_among(run, request, context)
            if chosen is not None:
                located, reason = chosen, "unsure"
                chance, confidence = chosen_chance, calibrated(chosen_chance)
        if located is not None:
            found = candidates_of(news)
            reading = run.reading
            picks = _picks(reading, located) if reading and not chosen else []
            if reading and picks:
                located, support = self._choose(reading, run, located, picks, news)
                if support is not None:
                    chance, confidence = None, support
            elif not chosen and run.kind == NAME and self.settings.corroborate_names:
                located, chance = self._corroborate(run, request, located, chance, context, found)
            if run.kind == NAME and (full := fullest(located.text, [*context, *found])):
                located = locate(full, context) or locate(full, found) or located
            naming = witnesses(located, run.standalone, [*context, *found])
            run.timings["naming_articles"] = len(naming)
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
            answer.mode, answer.reply_probability = SHORT_MODE, chance
            yield "done", {"answer": answer}
            return
        cited = naming[: self.settings.short_cited_articles]
        yield from self._stated(run, located.text, cited, SHORT_MODE, chance, confidence)

    def _read(
        self, run: Run, context: Sequence[ContextSentence]
    ) -> tuple[GenerationRequest, str, Located | None, str]:
        """The model's reply from `context`, and where it stands in it: None and why not
        ("not_stated", "repeats", "unlocated"), else the place and "unsure" (the reason it is
        withheld should its confidence be too low)."""
        request = GenerationRequest(
            messages=short_messages(context, run.standalone),
            max_tokens=SHORT_MAX_TOKENS,
            timeout_s=self.settings.generator_timeout_s,
            grammar=SHORT_GRAMMAR,
            logprobs=True,
        )
        run.timings["prompt_tokens"] = sum(
            self.embedder.count_tokens([m["content"] for m in request.messages])
        )
        reply = ""
        for delta in self.generator.stream(request):
            if "first_output_ms" not in run.timings:
                run.mark("first_output_ms", run.started)
            reply += delta
        reply = reply.strip()
        if says_nothing(reply):
            return request, reply, None, "not_stated"
        if repeats(reply, run.standalone, bool(run.reading and run.reading.choice)):
            return request, reply, None, "repeats"
        located = locate(reply, context)
        if located is not None and located.end and _cut(reply, request):
            # A reply the length cap cut is a statement, not a name: the sentence it stands
            # in is shown whole rather than words ending mid-phrase.
            whole = located.item.sentence.text
            located = Located(located.item, whole, 0, len(whole))
        return request, reply, located, "unlocated" if located is None else "unsure"

    def _choose(
        self, reading: Reading, run: Run, located: Located, picks: list[str], news: Sequence[Hit]
    ) -> tuple[Located, float | None]:
        """Between the outlets the question offers, the one whose articles best support what
        it asks the chosen one did (`rag.answering.parts.find` over each outlet's articles found
        for the question), cited by that sentence, in place of the reply's pick when it is another
        and supports it well enough to count as saying it; its confidence is then that support
        score (None: the model's). The answer is the outlet's name as the index holds it."""
        offered, asked = reading.offered, reading.asked
        findings = {
            outlet: find(
                PartEvidence(Part(asked, (outlet,)), [h for h in news if h.source == outlet]),
                self.embedder.embed,
            )
            for outlet in offered
        }
        best = max(offered, key=lambda outlet: findings[outlet].score)
        finding = findings[best]
        if finding.status != SUPPORTED or finding.sentence is None:
            return Located(located.item, picks[0], 0, 0), None
        if best in picks:
            return Located(finding.sentence, best, 0, 0), None
        run.timings["chosen"] = 1
        return Located(finding.sentence, best, 0, 0), finding.score

    def _may_choose(self, reason: str) -> bool:
        """Is a reply withheld for `reason` asked again as a choice (`_choose_among`)?"""
        settings = self.settings
        asked = (reason == "repeats" and settings.choose_repeats) or (
            reason in ("repeats", "unlocated") and settings.choose_unlocated
        )
        return asked and getattr(self.generator, "supports_grammar", False)

    def _choose_among(
        self, run: Run, request: GenerationRequest, context: list[ContextSentence]
    ) -> tuple[Located | None, float | None]:
        """A reply that stands in nothing read, or only repeats the question, asked again: the
        same prompt (read from the cache) with the names the sentences hold of the kind asked
        for (`choices`) listed after the question, the reply held to one of them or "not
        stated" by a grammar. The choice is located where it stands; its probability is the
        model's for it. None: nothing to choose from, or the model chose "not stated"."""
        reading = run.reading
        offered = choices(
            run.standalone,
            run.kind,
            context,
            bool(reading and reading.person),
            bool(reading and reading.choice),
        )
        run.timings["choices"] = len(offered)
        if not offered:
            return None, None
        messages = [dict(m) for m in request.messages]
        messages[-1]["content"] += SHORT_CHOICE.format(options="; ".join(offered))
        options = " | ".join(json.dumps(o) for o in [*offered, NOT_STATED])
        held = replace(request, messages=messages, grammar=f"root ::= {options}", token_logprobs=[])
        picked = "".join(self.generator.stream(held)).strip()
        located = None if says_nothing(picked) else locate(picked, context)
        if located is None:
            return None, None
        run.timings["chosen_among"] = 1
        return located, probability(held.token_logprobs)

    def _corroborate(
        self,
        run: Run,
        request: GenerationRequest,
        located: Located,
        chance: float | None,
        context: list[ContextSentence],
        found: list[ContextSentence],
    ) -> tuple[Located, float | None]:
        """The name more of the articles found name, in place of the model's reply
        (`corroborated`), cited where it stands. Its probability is the model's for that
        name: the same prompt, the reply held to it by a grammar (the prompt is read from the
        cache). A backend without grammars gives it none. `found`: the sentences of the
        articles found (`rag.answering.parts.candidates_of`)."""
        better = corroborated(
            located.text,
            run.standalone,
            [*context, *found],
            bool(run.reading and run.reading.person),
        )
        moved = better and (locate(better, context) or locate(better, found))
        if not moved:
            return located, chance
        run.timings["corroborated"] = 1
        if not getattr(self.generator, "supports_grammar", False):
            return moved, None
        forced = replace(request, grammar=f"root ::= {json.dumps(moved.text)}", token_logprobs=[])
        for _ in self.generator.stream(forced):
            pass
        return moved, probability(forced.token_logprobs)
