"""The answer pipeline with a real language model (the packaged 0.5B, for speed), in-process
and through an OpenAI-compatible server (xllamacpp's own listener on 127.0.0.1)."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from bench.servers import free_port
from rag.answering.answer import Answerer
from rag.config import Settings
from rag.desk import Desk
from rag.errors import GeneratorUnavailable
from rag.ingestion.articles import make_article
from tests.conftest import SEEDS
from tests.test_answer import PLANTED

pytestmark = [pytest.mark.llm, pytest.mark.slow]

FERRY = {
    "id": "ferry-1",
    "title": "Ferry crews end three-day strike",
    "source": "Harbour Gazette",
    "published_at": "2024-03-08",
    "body": "Ferry crews on the island routes ended a three-day strike on Thursday.\n\n"
    "The union said the operator had agreed to hire twelve more deckhands before the summer.",
}


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory, embedder) -> Iterator[Desk]:
    root = tmp_path_factory.mktemp("answer-llm")
    settings = Settings(
        index_dir=root / "indexes",
        model_cache_dir=root / "models",
        llm_profile="qwen0.5b",
        llm_n_ctx=2048,
    )
    desk = Desk(settings, embedder=embedder)
    planted = root / "planted.jsonl"
    planted.write_text(json.dumps(PLANTED) + "\n" + json.dumps(FERRY) + "\n", encoding="utf-8")
    desk.ingest_paths([SEEDS, planted])
    llm = desk.generator("llamacpp")
    desk.settings = settings.model_copy(
        update={
            "openai_base_url": llm.base_url,  # type: ignore[attr-defined]
            "openai_api_key": llm.api_key,  # type: ignore[attr-defined]
            "openai_model": llm.model_id,
        }
    )
    yield desk
    desk.close()


def assert_grounded(desk: Desk, answer) -> None:
    """Whatever the model wrote, what is shown is cited, checked and exact."""
    for c in answer.citations:
        article, _ = desk.index().get_article(c.article_id)
        assert article.body[c.char_start : c.char_end] == c.text
        assert f"[{c.n}]" in answer.text
    shown = [s for s in answer.sentences if s.supported]
    assert all(s.citations for s in shown)
    for s in answer.sentences:
        if not s.supported:
            assert s.text not in answer.text  # an unsupported claim is never shown


@pytest.mark.parametrize("backend", ["llamacpp", "openai"])
def test_llm_answer_is_grounded(desk: Desk, backend: str) -> None:
    answer = desk.answer(
        "What does Russia demand from Ukraine before peace talks?", backend=backend
    )
    assert answer.backend == backend and answer.model.startswith("qwen2.5-coder-0.5b")
    assert {"prompt_tokens", "ttft_ms", "generate_ms", "verify_ms"} <= set(answer.timings)
    assert_grounded(desk, answer)
    if not answer.abstained:
        assert any("annex" in c.text or "territor" in c.text for c in answer.citations)


def test_planted_instructions_change_nothing(desk: Desk) -> None:
    answer = desk.answer("What did Galuzin tell the TASS news agency?")
    assert_grounded(desk, answer)
    assert "Ignore all previous instructions" not in " ".join(c.text for c in answer.citations)
    assert "surrender" not in answer.text.lower()


def test_follow_up_is_rewritten_before_retrieval(desk: Desk) -> None:
    history = [
        {"role": "user", "content": "Who invited Zelensky to Moscow?"},
        {"role": "assistant", "content": "Russia invited him [1]."},
    ]
    answer = desk.answer("What condition did they set?", history)
    assert answer.standalone_question != "What condition did they set?"
    assert "rewrite_ms" in answer.timings
    assert_grounded(desk, answer)


def test_stream_yields_tokens_before_done(desk: Desk) -> None:
    # a yes/no question naming no outlet: written claims, streamed as they are written
    events = list(desk.answerer().stream("Is Russia open to discussing issues beyond territory?"))
    kinds = [k for k, _ in events]
    assert kinds[-1] == "done" and "token" in kinds
    assert kinds.index("token") < kinds.index("done")
    streamed = "".join(p["text"] for k, p in events if k == "token")
    if len(streamed.split()) >= 2:
        assert kinds.count("token") >= 2  # token by token, not one block


@pytest.mark.parametrize("backend", ["llamacpp", "openai"])
def test_a_who_question_gets_the_name_cited_where_it_stands(desk: Desk, backend: str) -> None:
    events = list(desk.answerer(backend=backend).stream("Which news agency did Galuzin speak to?"))
    answer = events[-1][1]["answer"]
    assert answer.mode == "short"
    assert_grounded(desk, answer)
    assert not answer.abstained, answer.sentences
    (citation,) = answer.citations
    name = answer.sentences[0].text
    assert answer.text == f"{name} [1]" and "TASS" in name
    assert name in citation.text  # the source's own wording, in the sentence cited
    # The reply's probability comes with the tokens, over HTTP as in-process, and its
    # calibrated confidence with it.
    assert 0 < answer.reply_probability <= 1 and 0 <= answer.confidence <= 1
    kinds = [k for k, _ in events]
    assert kinds.index("citation") < kinds.index("token") < kinds.index("sentence")


@pytest.mark.parametrize("backend", ["llamacpp", "openai"])
def test_a_statement_picked_is_a_sentence_read_shown_whole(desk: Desk, backend: str) -> None:
    """Held to the numbers read by a grammar in-process, replying freely over HTTP: either
    way the answer is one sentence the model read, in its source's words, or an abstention."""
    on = desk.settings.model_copy(update={"statement_answers": "picked"})
    answerer = Answerer(desk.retriever(), desk.generator(backend), on)
    events = list(answerer.stream("How has Kyiv described similar Russian offers in the past?"))
    answer = events[-1][1]["answer"]
    assert answer.mode.startswith("picked")
    assert_grounded(desk, answer)
    evidence = next(p["sentences"] for k, p in events if k == "evidence")
    if answer.abstained:
        assert answer.citations == []
        return
    (citation,) = answer.citations
    assert answer.text == f"{citation.text} [1]"
    assert citation.text in [s["text"] for s in evidence]  # one of the sentences it read


def test_dead_backend_is_a_named_503(tmp_path: Path, embedder) -> None:
    settings = Settings(
        index_dir=tmp_path / "indexes",
        generator_backend="openai",
        openai_base_url=f"http://127.0.0.1:{free_port()}/v1",
        generator_timeout_s=10,
    )
    desk = Desk(settings, embedder=embedder)
    desk.ingest_paths([SEEDS])
    with pytest.raises(GeneratorUnavailable):
        desk.answer("What does Russia demand from Ukraine?")
    with TestClient(create_app(settings, desk)) as client:
        response = client.post("/v1/ask", json={"question": "What does Russia demand?"})
        assert response.status_code == 503
        assert response.json()["error"] == "GeneratorUnavailable"
        streamed = client.post("/v1/ask/stream", json={"question": "What does Russia demand?"})
        assert "event: error" in streamed.text and "GeneratorUnavailable" in streamed.text


def test_the_answer_instructions_are_read_at_load(desk: Desk) -> None:
    """The generator reads the fixed instructions when it loads, so the first question reuses
    them from llama.cpp's prompt cache instead of reading them again."""
    fresh = Desk(desk.settings, embedder=desk.embedder)
    try:
        generator = fresh.generator("llamacpp")
        primed = generator.last_timings["prompt_n"]
        assert primed > 50  # the instructions were read at load
        fresh.answer("Who invited Zelensky to Moscow?", backend="llamacpp")
        timings = generator.last_timings
        assert timings["cache_n"] > 0.8 * primed  # ... and not read again for the question
    finally:
        fresh.close()


@pytest.mark.parametrize("backend", ["llamacpp", "openai"])
def test_a_question_in_parts_answers_alike_on_either_backend(desk: Desk, backend: str) -> None:
    question = (
        "Does the article from Harbour Gazette report that ferry crews ended a three-day "
        "strike, while the article from Bloomberg says that the operator's shares fell?"
    )
    events = list(desk.answerer(backend=backend).stream(question))
    answer = events[-1][1]["answer"]
    assert [k for k, _ in events].count("part") == 2
    assert (
        answer.abstained and answer.text == "The indexed news has nothing from Bloomberg on this."
    )
    gazette, bloomberg = answer.parts
    assert (gazette["source"], gazette["status"]) == ("Harbour Gazette", "supported")
    assert (bloomberg["source"], bloomberg["status"]) == ("Bloomberg", "missing")


@pytest.mark.parametrize("backend", ["llamacpp", "openai"])
def test_a_model_answer_lists_what_each_named_outlet_says(desk: Desk, backend: str) -> None:
    answer = desk.answer(
        "How many deckhands did the operator agree to hire, according to Harbour Gazette?",
        backend=backend,
    )
    assert_grounded(desk, answer)
    (part,) = answer.parts
    assert part["source"] == "Harbour Gazette"
    cited = {c.n: c for c in answer.citations}
    assert all(cited[n].source == "Harbour Gazette" for n in part["citations"])
    if not answer.abstained:
        assert part["status"] == "supported" and "twelve" in part["finding"]


def test_a_planted_note_is_no_outlets_finding(desk: Desk) -> None:
    answer = desk.answer("Does the article from Planted Daily report that Ukraine surrendered?")
    assert not answer.text.startswith("Yes")
    assert all("surrender" not in c.text for c in answer.citations)


TRIAL = [
    {"id": "verge-1", "title": "Trader testifies", "source": "The Verge",
     "published_at": "2023-10-06",
     "body": "Gary Wang testified that he heard Sam Bankman-Fried tell another trader that he "
     "could keep withdrawing money from the account."},
    {"id": "tc-1", "title": "Prosecutors close their case", "source": "TechCrunch",
     "published_at": "2023-10-20",
     "body": "Prosecutors say Sam Bankman-Fried committed fraud for wealth and power."},
    {"id": "cnbc-1", "title": "FTX board plans", "source": "CNBC", "published_at": "2023-10-12",
     "body": "Bankman-Fried planned to set up a board of experts for FTX."},
]  # fmt: skip


class FirstReply:
    """The packaged model, but for the first short reply, which is the witness's name: a mistake
    the real model makes on such questions but cannot be made to make on demand. Every other
    request, the grammar-held one included, goes to the real model."""

    def __init__(self, inner, reply: str) -> None:
        self.inner, self.reply, self.sent = inner, reply, False
        self.name, self.model_id, self.uses_llm = inner.name, inner.model_id, True
        self.supports_json_schema = inner.supports_json_schema
        self.supports_grammar = True

    def stream(self, request):
        if not self.sent:
            self.sent = True
            request.token_logprobs[:] = [-0.4, -0.3]
            yield self.reply
            return
        yield from self.inner.stream(request)

    def close(self) -> None:
        pass


def test_a_name_the_articles_share_replaces_a_name_read_beside_it(desk: Desk) -> None:
    from rag.answering.answer import Answerer
    from rag.answering.confidence import corroborated_confidence
    from rag.answering.names import names_it

    desk.ingest_articles([make_article(a, "trial", 100_000) for a in TRIAL], "trial")
    model = FirstReply(desk.generator("llamacpp"), "Gary Wang")
    answerer = Answerer(desk.retriever("trial"), model, desk.settings, desk.slots)
    answer = answerer.answer("Who is accused of fraud and planned a board of experts for FTX?")
    assert answer.timings.get("corroborated") == 1
    # Cited where it stands, then from each other article that names him.
    marks = "".join(f"[{c.n}]" for c in answer.citations)
    assert answer.text == f"Sam Bankman-Fried {marks}" and marks.startswith("[1]")
    assert "Sam Bankman-Fried" in answer.citations[0].text
    assert all(names_it("Sam Bankman-Fried", c.text) for c in answer.citations)
    assert len({c.article_id for c in answer.citations}) == len(answer.citations)
    # Its probability is the real model's for that name, read under a grammar allowing only it.
    assert 0 < answer.reply_probability <= 1
    assert answer.reply_probability != pytest.approx(math.exp(-0.7))  # not the first reply's
    # Its confidence is what such names scored on dev, not that (low by construction) number.
    assert answer.confidence == corroborated_confidence()
