"""A statement question answered by the sentence the model points to: the grammar it is held
to, the sentence shown in its source's words and cited, and the replies that abstain. The
backend here replies with a scripted number (the packaged models cannot be made to pick a
chosen sentence; these tests are about what the pipeline does with a pick); the real model's
pick is tested in tests/test_answer_llm.py."""

from __future__ import annotations

import json
from collections.abc import Iterator

from rag.answering.answer import Answerer
from rag.answering.context import ContextSentence
from rag.answering.picked import openings, pick_grammar, picked
from rag.desk import Desk
from rag.generators.base import GenerationRequest
from rag.types import Sentence

WHY = "How has Kyiv described similar Russian offers in the past?"


class PickingReply:
    """A backend that takes a grammar, as llama.cpp's does, and replies with `pick` when the
    grammar allows it, else with the grammar's last alternative ("0"). What it was asked is
    kept."""

    name = "scripted"
    model_id = "scripted"
    supports_json_schema = False
    supports_grammar = True
    uses_llm = True

    def __init__(self, pick: str, logprobs: list[float] | None = None) -> None:
        self.pick, self.logprobs = pick, logprobs
        self.requests: list[GenerationRequest] = []

    def stream(self, request: GenerationRequest) -> Iterator[str]:
        self.requests.append(request)
        if request.logprobs and self.logprobs is not None:
            request.token_logprobs.extend(self.logprobs)
        grammar = request.grammar or ""
        if not grammar.startswith('root ::= "'):  # no grammar, or not one of alternatives
            yield self.pick
            return
        allowed = [json.loads(o) for o in grammar[len("root ::= ") :].split(" | ")]
        yield self.pick if self.pick in allowed else allowed[-1]

    def close(self) -> None:
        pass


def picking(desk: Desk, model: PickingReply, mode: str = "picked") -> Answerer:
    on = desk.settings.model_copy(update={"statement_answers": mode})
    return Answerer(desk.retriever(), model, on)


def test_each_sentence_is_told_by_its_opening_and_none_is_offered() -> None:
    read = [
        ContextSentence(
            n, Sentence(f"a#{n}", n, text, 0, len(text)), "a", "T", "S", None, None, 0.5
        )
        for n, text in enumerate(
            [
                "Kyiv has dismissed similar offers as disingenuous attempts.",
                "Kyiv has dismissed similar offers before, officials said.",
                "Talks stalled.",
            ],
            start=1,
        )
    ]
    options = openings(read)
    assert list(options) == [
        "Kyiv has dismissed similar offers as",
        "Kyiv has dismissed similar offers before,",  # one word more tells it apart
        "Talks stalled.",
    ]
    grammar = pick_grammar(list(options))
    assert grammar.startswith('root ::= "Kyiv has dismissed similar offers as" | ')
    assert grammar.endswith('"Talks stalled." | "not stated"')
    assert picked("Kyiv has dismissed similar offers before,", options) is read[1]
    # a free reply may quote more of the sentence, but only the sentence itself
    assert picked("Talks stalled.", options) is read[2]
    assert picked("Kyiv has dismissed similar offers as disingenuous", options) is read[0]
    assert picked("Kyiv has dismissed similar offers as a ploy", options) is None
    assert picked("not stated", options) is None


def test_the_sentence_picked_is_the_answer_in_its_sources_words(seed_desk: Desk) -> None:
    first = PickingReply("not stated")
    picking(seed_desk, first).answer(WHY)
    grammar = first.requests[0].grammar
    assert grammar is not None
    wanted = next(json.loads(o) for o in grammar.split(" | ") if "dismissed" in o)
    model = PickingReply(wanted, [-0.3])
    answer = picking(seed_desk, model).answer(WHY)
    assert not answer.abstained and answer.mode.startswith("picked")
    assert len(answer.citations) == 1
    cited = answer.citations[0]
    assert answer.text == f"{cited.text} [1]" and cited.text.startswith(wanted)
    article, _ = seed_desk.index().get_article(cited.article_id)
    assert article.body[cited.char_start : cited.char_end] == cited.text
    assert answer.confidence is None and answer.reply_probability is not None


def test_none_picked_or_a_reply_outside_the_openings_abstains(seed_desk: Desk) -> None:
    none = picking(seed_desk, PickingReply("not stated")).answer(WHY)
    assert none.abstained and none.citations == [] and none.text == "The indexed news does not say."
    assert none.timings["picked_none"] == 1
    model = PickingReply("Kyiv says the offers are a trick")
    model.supports_grammar = False  # a server without grammars replies freely
    outside = picking(seed_desk, model).answer(WHY)
    assert model.requests[0].grammar is None
    assert outside.abstained and outside.text.endswith("quotes no sentence it read.")
    assert outside.timings["picked_outside"] == 1


def test_statements_are_picked_unless_claims_are_asked_for(seed_desk: Desk) -> None:
    written = PickingReply("not stated")
    picking(seed_desk, written, "claims").answer(WHY)
    assert written.requests and written.requests[0].grammar is None  # written claims
    name = PickingReply("not stated")
    picking(seed_desk, name).answer("Who did Russia invite to Moscow?")
    assert all(r.grammar is None or '"not stated"' not in r.grammar for r in name.requests)
