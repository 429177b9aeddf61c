"""Short answers are located in what the model read: the sentence holding the reply word for
word is its citation, a name read in an article's header cites that article, and a reply that
stands nowhere is not located."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace

import pytest

from rag.answering.answer import Answer, Answerer
from rag.answering.context import ContextSentence
from rag.answering.names import (
    CHOICE_CAP,
    choices,
    corroborated,
    fullest,
    locate,
    names_it,
    repeats,
    says_nothing,
    witnesses,
)
from rag.answering.short import SHORT_MAX_TOKENS, probability
from rag.desk import Desk
from rag.generators.base import GenerationRequest
from rag.reading.question import read_question
from rag.types import Sentence

TEXTS = [
    ("moscow", "Russia has invited President Zelensky to Moscow for talks.", 0.4),
    ("moscow", "Deputy Foreign Minister Mikhail Galuzin announced the invitation on Friday.", 0.9),
    ("trial", "It was not until the judge intervened that Bankman-Fried admitted it.", 0.7),
]
TITLES = {
    "moscow": "Russia invites Zelensky",
    "trial": "Sam Bankman-Fried didn't ask where it went",
}
SOURCES = {"moscow": "The Ledger", "trial": "The Verge"}


def context() -> list[ContextSentence]:
    return [
        ContextSentence(
            n,
            Sentence(f"{article}#{n}", n, text, 100 * n, 100 * n + len(text)),
            article,
            TITLES[article],
            SOURCES[article],
            None,
            1698710400,  # 2023-10-31
            relevance,
        )
        for n, (article, text, relevance) in enumerate(TEXTS, start=1)
    ]


def test_a_reply_cites_the_sentence_that_holds_it_in_the_source_wording() -> None:
    found = locate("mikhail galuzin", context())
    assert found is not None
    assert found.item.n == 2 and found.text == "Mikhail Galuzin"
    assert found.item.sentence.text[found.start : found.end] == "Mikhail Galuzin"


def test_a_leading_article_and_punctuation_do_not_stop_the_match() -> None:
    found = locate("The Deputy Foreign Minister, Mikhail Galuzin.", context())
    assert found is not None and found.text == "Deputy Foreign Minister Mikhail Galuzin"
    assert locate("Minister the Mikhail Galuzin", context()) is None  # only a leading article


def test_a_name_read_in_a_headline_cites_that_articles_closest_sentence() -> None:
    found = locate("Sam Bankman-Fried", context())
    assert found is not None
    assert found.item.article_id == "trial" and found.text == "Sam Bankman-Fried"
    assert (found.start, found.end) == (0, 0)


def test_an_outlet_and_a_date_are_found_in_the_header() -> None:
    outlet = locate("The Verge", context())
    assert outlet is not None and outlet.item.article_id == "trial"
    date = locate("2023-10-31", context())
    assert date is not None and date.item.n == 2  # the closest sentence among equal headers


def test_a_reply_found_nowhere_is_not_located() -> None:
    assert locate("Sam Altman", context()) is None
    assert locate("Galuzin Mikhail", context()) is None  # words in a row, in order
    assert locate("Kyiv", context()) is None
    assert locate("", context()) is None


def test_not_stated_says_nothing() -> None:
    assert says_nothing("not stated") and says_nothing("Not stated.") and says_nothing("")
    assert not says_nothing("Galuzin")


def test_probability_is_the_product_of_token_probabilities() -> None:
    assert probability([]) is None
    assert abs(probability([-0.1, -0.2]) - 0.7408) < 1e-4


class ScriptedReply:
    """A language-model backend that replies with a fixed text (and, if given, token
    log-probabilities). The packaged models cannot be made to reply with a chosen name, and
    these tests are about what the pipeline does with a reply; the real models' replies are
    tested in tests/test_answer_llm.py."""

    name = "scripted"
    model_id = "scripted"
    supports_json_schema = False
    uses_llm = True

    def __init__(self, reply: str, logprobs: list[float] | None = None) -> None:
        self.reply, self.logprobs = reply, logprobs
        self.asked = 0

    def stream(self, request: GenerationRequest) -> Iterator[str]:
        self.asked += 1
        if request.logprobs and self.logprobs is not None:
            request.token_logprobs.extend(self.logprobs)
        yield self.reply

    def close(self) -> None:
        pass


def short_answer(desk: Desk, reply: str, logprobs: list[float] | None = None) -> Answer:
    answerer = Answerer(desk.retriever(), ScriptedReply(reply, logprobs), desk.settings)
    return answerer.answer("Which Russian official said Moscow is ready for dialogue?")


def test_a_located_reply_is_shown_in_the_sources_words_and_cited(seed_desk: Desk) -> None:
    answer = short_answer(seed_desk, "mikhail galuzin", [-0.05, -0.05])
    assert answer.mode == "short" and not answer.abstained
    (citation,) = answer.citations
    assert answer.text == "Mikhail Galuzin [1]" and "Mikhail Galuzin" in citation.text
    assert answer.reply_probability == pytest.approx(0.905, abs=1e-3)
    assert answer.confidence is not None and 0 <= answer.confidence <= 1


def test_a_reply_its_length_cap_cut_is_shown_as_the_whole_sentence_it_stands_in(
    seed_desk: Desk,
) -> None:
    sentence = (
        "Russia has formally invited Ukrainian President Volodymyr Zelensky to Moscow for "
        "peace talks, a senior official announced on Friday."
    )
    reply = "Russia has formally invited Ukrainian President Volodymyr Zelensky to Moscow for"
    cut = short_answer(seed_desk, reply, [-0.01] * SHORT_MAX_TOKENS)  # all the tokens allowed
    assert not cut.abstained and cut.text == f"{sentence} [1]"
    assert cut.citations[0].text == sentence
    # a reply that ends on its own is shown as it stands in the source
    whole = short_answer(seed_desk, "Volodymyr Zelensky", [-0.01] * 4)
    assert whole.text.startswith("Volodymyr Zelensky [")


def test_a_reply_found_in_nothing_read_is_not_shown_as_fact(seed_desk: Desk) -> None:
    answer = short_answer(seed_desk, "Sergei Lavrov", [-0.01])
    assert answer.abstained and answer.citations == []
    assert "Lavrov" not in answer.text and "stands in no sentence it read" in answer.text
    assert [(s.text, s.supported) for s in answer.sentences] == [("Sergei Lavrov", False)]
    assert answer.timings["unlocated"] == 1


def test_not_stated_abstains(seed_desk: Desk) -> None:
    answer = short_answer(seed_desk, "not stated", [-0.01])
    assert answer.abstained and answer.sentences == [] and answer.timings["not_stated"] == 1
    assert answer.text == "The indexed news does not say."


def test_a_backend_without_token_probabilities_answers_without_a_confidence(
    seed_desk: Desk,
) -> None:
    answer = short_answer(seed_desk, "Galuzin")
    assert not answer.abstained and answer.text == "Mikhail Galuzin [1]"
    assert answer.confidence is None and answer.reply_probability is None
    assert answer.mode.startswith("short") and "no token probabilities" in answer.mode


def test_short_answers_can_be_turned_off(seed_desk: Desk) -> None:
    settings = seed_desk.settings.model_copy(update={"short_answers": False})
    answerer = Answerer(seed_desk.retriever(), ScriptedReply("Galuzin"), settings)
    answer = answerer.answer("Which Russian official said Moscow is ready for dialogue?")
    assert answer.mode == "claims"


def test_the_evidence_is_sent_before_the_model_is_asked(seed_desk: Desk) -> None:
    model = ScriptedReply("Galuzin", [-0.1])
    events = Answerer(seed_desk.retriever(), model, seed_desk.settings).stream(
        "Which Russian official said Moscow is ready for dialogue?"
    )
    kind, payload = next(events)
    assert kind == "evidence" and model.asked == 0
    read = payload["sentences"]
    assert any("Galuzin" in s["text"] for s in read)
    article, _ = seed_desk.index().get_article(read[0]["article_id"])
    assert all(article.body[s["char_start"] : s["char_end"]] == s["text"] for s in read)
    assert [k for k, _ in events][-1] == "done" and model.asked == 1


def test_a_reply_that_repeats_the_question_answers_nothing(seed_desk: Desk) -> None:
    def said(reply: str, question: str) -> bool:
        return repeats(reply, question, read_question(question).choice)

    assert said("Russia", "Who did Russia invite to Moscow?")
    assert not said("Zelensky", "Who did Russia invite to Moscow?")
    assert not said("Moscow", "Which city hosts the talks, Moscow or Kyiv?")  # a choice offered
    between = "Between the report from The Ledger and the Wire Desk's, which outlet named him?"
    assert not said("The Ledger", between)
    # "between" that opens no choice: the reply still repeats the question
    assert said("Uber", "Which company, according to Uber, cut assaults between its reports?")
    answerer = Answerer(seed_desk.retriever(), ScriptedReply("Russia", [-0.1]), seed_desk.settings)
    answer = answerer.answer("Who did Russia invite to Moscow for peace talks?")
    assert answer.abstained and answer.citations == []
    assert [(s.text, s.supported) for s in answer.sentences] == [("Russia", False)]
    assert answer.text.endswith("only repeats the question.") and answer.timings["repeats"] == 1


# The whole context read at once, where a test counts what the model was asked.
ONE_READING = {"short_first_tokens": 0}


class ChoosingReply(ScriptedReply):
    """A backend that holds its reply to a request's grammar, as llama.cpp's does: it replies
    freely with `reply`, and under a grammar of alternatives with `choice` when the grammar
    allows it (else with the grammar's first alternative). What it was asked is kept."""

    supports_grammar = True

    def __init__(self, reply: str, choice: str, logprobs: list[float]) -> None:
        super().__init__(reply, logprobs)
        self.choice = choice
        self.requests: list[GenerationRequest] = []

    def stream(self, request: GenerationRequest) -> Iterator[str]:
        self.requests.append(request)
        if request.grammar and request.grammar.startswith('root ::= "'):
            allowed = [json.loads(o) for o in request.grammar[len("root ::= ") :].split(" | ")]
            request.token_logprobs.extend(self.logprobs or [])
            yield self.choice if self.choice in allowed else allowed[0]
            return
        yield from super().stream(request)


def test_a_reply_that_stands_nowhere_is_asked_again_as_a_choice(seed_desk: Desk) -> None:
    """The model replies with what the question holds; asked again with the names the
    sentences hold listed and its reply held to them (or "not stated"), its choice is
    located and cited like any reply."""
    on = seed_desk.settings.model_copy(update={"choose_unlocated": True, **ONE_READING})
    model = ChoosingReply("Russia", "Mikhail Galuzin", [-0.2])
    answerer = Answerer(seed_desk.retriever(), model, on)
    answer = answerer.answer("Who did Russia invite to Moscow for peace talks?")
    assert len(model.requests) == 2
    again = model.requests[1]
    assert again.grammar is not None and '"Mikhail Galuzin"' in again.grammar
    assert '"not stated"' in again.grammar and '"Russia"' not in again.grammar
    assert "Mikhail Galuzin" in again.messages[-1]["content"].split("Question:")[1]
    assert again.messages[0] == model.requests[0].messages[0]  # the same prompt, extended
    assert not answer.abstained and answer.text.startswith("Mikhail Galuzin [1]")
    assert "Mikhail Galuzin" in answer.citations[0].text
    assert answer.timings["chosen_among"] == 1 and answer.confidence is not None


def test_a_choice_of_not_stated_abstains_and_no_choice_is_asked_by_default(
    seed_desk: Desk,
) -> None:
    on = seed_desk.settings.model_copy(update={"choose_unlocated": True, **ONE_READING})
    model = ChoosingReply("Sergei Lavrov", "not stated", [-0.1])
    answer = Answerer(seed_desk.retriever(), model, on).answer(
        "Which Russian official said Moscow is ready for dialogue?"
    )
    assert len(model.requests) == 2 and answer.abstained and answer.citations == []
    assert "stands in no sentence it read" in answer.text and answer.timings["unlocated"] == 1
    model = ChoosingReply("Sergei Lavrov", "Mikhail Galuzin", [-0.1])  # off by default
    one = seed_desk.settings.model_copy(update=ONE_READING)
    answer = Answerer(seed_desk.retriever(), model, one).answer(
        "Which Russian official said Moscow is ready for dialogue?"
    )
    assert len(model.requests) == 1 and answer.abstained


def test_a_reply_that_repeats_the_question_is_asked_again_as_a_choice_by_default(
    seed_desk: Desk,
) -> None:
    """A reply naming one of the question's own names found the story but named the wrong one
    of its names; a reply that stands nowhere read is no sign the answer is there."""
    on = seed_desk.settings.model_copy(update=ONE_READING)  # choose_repeats is on by default
    model = ChoosingReply("Russia", "Mikhail Galuzin", [-0.2])
    question = "Who did Russia invite to Moscow for peace talks?"
    answer = Answerer(seed_desk.retriever(), model, on).answer(question)
    assert len(model.requests) == 2 and answer.text.startswith("Mikhail Galuzin [1]")
    off = on.model_copy(update={"choose_repeats": False})
    model = ChoosingReply("Russia", "Mikhail Galuzin", [-0.2])
    answer = Answerer(seed_desk.retriever(), model, off).answer(question)
    assert len(model.requests) == 1 and answer.abstained and answer.timings["repeats"] == 1
    model = ChoosingReply("Sergei Lavrov", "Mikhail Galuzin", [-0.1])
    answer = Answerer(seed_desk.retriever(), model, on).answer(
        "Which Russian official said Moscow is ready for dialogue?"
    )
    assert len(model.requests) == 1 and answer.abstained and answer.timings["unlocated"] == 1


def test_the_choices_are_the_names_of_the_kind_asked_for() -> None:
    read = articles(
        [
            ("cbs", "Caesars Sportsbook offers new users in Vermont up to $1,000 in bonus bets."),
            ("ap", "Caesars said on October 13, 2023 that 40 states allow it."),
            ("bbc", "DraftKings chief Jason Robins spoke on Friday."),
        ]
    )
    which = "Which sportsbook offers bonus bets in Vermont?"
    names = choices(which, "name", read)
    assert "Caesars Sportsbook" in names and "DraftKings" in names
    assert "Vermont" not in names  # the question holds it
    assert not {"$1,000", "40", "October 13, 2023", "Friday"} & set(names)
    assert choices("Who spoke on Friday?", "name", read, person=True) == ["Jason Robins"]
    assert set(choices("When did Caesars say it?", "time", read)) == {"October 13, 2023", "Friday"}
    assert {"1,000", "40"} <= set(choices("How much do new users get?", "count", read))
    stems = [c + v + d + w for c in "BDKMT" for v in "aeiou" for d in "lnrs" for w in "aio"]
    many = articles(
        [(f"a{n}", f"Shares of {stem.title()}tech rose.") for n, stem in enumerate(stems)]
    )
    assert len(choices("Which company reported?", "name", many)) == CHOICE_CAP


class RecordingReply(ScriptedReply):
    """A scripted backend that records the prompts it was asked."""

    def __init__(self, reply: str, logprobs: list[float] | None = None) -> None:
        super().__init__(reply, logprobs)
        self.prompts: list[str] = []

    def stream(self, request: GenerationRequest) -> Iterator[str]:
        self.prompts.append(request.messages[-1]["content"])
        yield from super().stream(request)


def test_a_sure_answer_from_the_first_reading_stands_else_the_whole_context_is_read(
    seed_desk: Desk,
) -> None:
    """The first reading is the sentences closest to the question; its answer stands when it
    is located and sure enough, else the model reads the whole context, as it would have
    without a first reading."""
    question = "Which Russian official said Moscow is ready for dialogue?"
    whole = RecordingReply("Galuzin", [-0.05])
    one = seed_desk.settings.model_copy(update=ONE_READING)
    Answerer(seed_desk.retriever(), whole, one).answer(question)
    assert len(whole.prompts) == 1

    settings = seed_desk.settings.model_copy(update={"short_first_tokens": 60})
    sure = RecordingReply("Galuzin", [-0.05])
    answer = Answerer(seed_desk.retriever(), sure, settings).answer(question)
    assert not answer.abstained and answer.text.startswith("Mikhail Galuzin")
    assert len(sure.prompts) == 1 and "widened" not in answer.timings
    assert answer.timings["first_confidence"] >= settings.short_first_accept
    assert len(sure.prompts[0]) < len(whole.prompts[0])

    for reply, logprobs in (
        ("Galuzin", [-3.0]),
        ("not stated", [-0.05]),
        ("Angela Merkel", [-0.05]),
    ):
        unsure = RecordingReply(reply, logprobs)
        again = Answerer(seed_desk.retriever(), unsure, settings).answer(question)
        assert again.timings["widened"] == 1
        assert unsure.prompts == [sure.prompts[0], whole.prompts[0]]


def test_a_backend_without_token_probabilities_reads_the_whole_context_at_once(
    seed_desk: Desk,
) -> None:
    """No first reply can be sure without them: after the first question, no first reading,
    for every request the backend serves (a service answers each with an answerer of its
    own)."""
    settings = seed_desk.settings.model_copy(update={"short_first_tokens": 60})
    backend = RecordingReply("Galuzin")
    question = "Which Russian official said Moscow is ready for dialogue?"
    assert not Answerer(seed_desk.retriever(), backend, settings).answer(question).abstained
    assert len(backend.prompts) == 2
    assert not Answerer(seed_desk.retriever(), backend, settings).answer(question).abstained
    assert len(backend.prompts) == 3 and backend.prompts[2] == backend.prompts[1]


def test_a_reply_too_unsure_to_give_is_withheld(seed_desk: Desk) -> None:
    """Below the threshold (here set; by default the one fitted on dev), even a located reply
    is not given; above it, the answer carries its calibrated confidence."""
    strict = seed_desk.settings.model_copy(update={"short_abstain_below": 0.5})
    unsure = Answerer(seed_desk.retriever(), ScriptedReply("Galuzin", [-3.0]), strict).answer(
        "Which Russian official said Moscow is ready for dialogue?"
    )  # the model's probability: 0.05
    assert unsure.abstained and unsure.citations == [] and unsure.timings["unsure"] == 1
    assert unsure.text.endswith("too unsure to give.")
    sure = short_answer(seed_desk, "Galuzin", [-0.05])
    assert not sure.abstained and sure.confidence is not None and sure.confidence > 0.9


TRIAL = [
    ("verge", "Wang testified that he heard Bankman-Fried tell another trader to go on."),
    ("verge", "The trader kept withdrawing money from the account."),
    ("techcrunch", "Prosecutors say Sam Bankman-Fried committed fraud for wealth and power."),
    ("cnbc", "Bankman-Fried planned to set up a board of experts for FTX."),
    ("fortune", "Caroline Ellison said she was told about the hole after the judge stepped in."),
]


def articles(rows: list[tuple[str, str]]) -> list[ContextSentence]:
    return [
        ContextSentence(
            n,
            Sentence(f"{a}#{n}", n, text, 0, len(text)),
            a,
            a.title(),
            a.title(),
            None,
            1698710400,
            0.5,
        )  # fmt: skip
        for n, (a, text) in enumerate(rows, start=1)
    ]


def test_a_name_read_beside_the_answer_gives_way_to_the_one_the_articles_share() -> None:
    """The reply names the witness of one article; the person the articles found for the
    question have in common is named by three."""
    question = "Who is accused of fraud and planned a board of experts, as the news reports?"
    read = articles(TRIAL)
    shared = corroborated("Wang", question, read)
    assert shared is not None and names_it("Sam Bankman-Fried", shared)
    assert fullest(shared, read) == "Sam Bankman-Fried"  # shown as the articles write it whole
    # The answer the articles share stands; so does a name no other name outnumbers.
    assert corroborated("Sam Bankman-Fried", question, articles(TRIAL)) is None
    assert corroborated("Caroline Ellison", question, articles(TRIAL[-1:])) is None


def test_a_name_more_articles_hold_far_from_the_question_does_not_replace_the_answer() -> None:
    """Two reports name the bank's new chief; other articles found for the words "chief
    executive" name someone else more often, nowhere near the bank."""
    rows = [
        ("ledger", "Mei Chen is the new chief executive of Orrin Bank, the bank said."),
        ("wire", "Orrin Bank named Mei Chen to lead it from January."),
        ("tc1", "Sam Altman returned as chief executive of OpenAI."),
        ("tc2", "Investors backed Sam Altman after the board fired him."),
        ("tc3", "Sam Altman spoke at the developer conference."),
    ]
    question = "Who is the new chief executive of Orrin Bank?"
    assert corroborated("Mei Chen", question, articles(rows), person=True) is None


def test_a_located_reply_is_widened_to_the_whole_name_the_source_writes() -> None:
    read = articles(
        [
            ("cbs", "Caesars Sportsbook offers new users up to $1,000 in bonus bets."),
            ("ap", "The talks resumed on October 13, 2023 in Geneva."),
            ("bbc", "Manchester United’s owners are weighing a sale."),
        ]
    )
    united = locate("Manchester United", read)
    assert united is not None and united.text == "Manchester United"  # not its "’s"
    caesars = locate("Caesars", read)
    assert caesars is not None and caesars.text == "Caesars Sportsbook"
    assert (caesars.start, caesars.end) == (0, len("Caesars Sportsbook"))
    date = locate("October 13", read)
    assert date is not None and date.text == "October 13, 2023"
    (verge,) = articles([("verge", "The phone ships in May.")])
    verge = replace(verge, title="Pixel review", source="The Verge")
    outlet = locate("Verge", [verge])  # read in the article's header: the outlet, named whole
    assert outlet is not None and outlet.text == "The Verge" and outlet.start == outlet.end == 0
    geneva = locate("Geneva", read)  # a whole name already
    assert geneva is not None and geneva.text == "Geneva"


def test_a_person_asked_for_is_not_answered_with_a_company() -> None:
    """ "Who ...?" replied with the company all the articles name: the person the articles
    name most is the answer. Asked "which company", the company stands."""
    trial = [
        ("verge", "FTX founder Sam Bankman-Fried let a trader withdraw funds from FTX."),
        ("techcrunch", "Prosecutors say Sam Bankman-Fried committed fraud at FTX."),
        ("cnbc", "FTX said its lawyers would appeal, and Caroline Ellison was not called."),
    ]
    who = "Who is accused of fraud and let a trader withdraw funds?"
    assert corroborated("FTX", who, articles(trial), person=True) == "Sam Bankman-Fried"
    which = "Which company let a trader withdraw funds?"
    assert corroborated("FTX", which, articles(trial), person=False) is None
    # A reply that is a person's name stands, however the articles' surnames are read.
    assert corroborated("Sam Bankman-Fried", who, articles(trial), person=True) is None
    # A person read beside the answer gives way to the person more articles name.
    assert corroborated("Wang", who, articles(TRIAL), person=True) == "Sam Bankman-Fried"


def test_a_reply_the_articles_never_show_as_a_name_gives_way_to_one_more_of_them_name() -> None:
    rows = [
        ("verge", "In the trial, Epic argued that the store was a monopoly run by Google."),
        ("techcrunch", "Google paid billions to remain the default search engine."),
        ("age", "A publisher accused Google of anticompetitive conduct."),
    ]
    question = "Which company is accused of anticompetitive practices and paid billions?"
    assert corroborated("the store", question, articles(rows)) == "Google"
    assert corroborated("Google", question, articles(rows)) is None


def test_a_name_the_question_holds_is_no_rival() -> None:
    question = "Who testified about Bankman-Fried and the trader?"
    assert corroborated("Wang", question, articles(TRIAL)) is None


def test_another_writing_of_the_same_name_is_no_rival() -> None:
    bank = [
        ("a", "The Fed held rates."),
        ("b", "The Fed may cut rates."),
        ("c", "The Federal Reserve said inflation eased."),
    ]
    assert corroborated("Federal Reserve", "Which bank held rates?", articles(bank)) is None
    # Without the shortening read as the same name, "Fed" (two articles) would replace it.


def test_a_later_mentions_shortening_is_shown_as_the_articles_write_the_name_whole() -> None:
    read = articles(
        [
            ("a", "Fed officials were forced to hike interest rates."),
            ("b", "Investors hope the Federal Reserve is done with its hikes."),
            ("c", "Sam Bankman-Fried denied the charges, and Bankman-Fried's lawyers agreed."),
            ("d", "Google Search ranks local results by relevance, OpenAI’s GPT-4 too."),
            ("e", "Travis Kelce caught two passes; Jason Kelce blocked."),
            ("f", "Israel said the Israeli Defense Forces struck, an Israeli official said."),
        ]
    )
    assert fullest("Fed", read) == fullest("the Fed", read) == "Federal Reserve"
    assert fullest("Bankman-Fried", read) == "Sam Bankman-Fried"
    assert fullest("SBF", read) == "Sam Bankman-Fried"
    assert fullest("Google", read) is None  # "Google Search" is another thing
    assert fullest("OpenAI", read) is None
    assert fullest("Kelce", read) is None  # two people of that name, each named once
    assert fullest("Federal Reserve", read) is None  # written whole already
    assert fullest("Israel", read) is None  # a country, not its army nor its people


def test_a_short_reply_read_in_a_shortening_is_answered_with_the_whole_name(
    corpus_desk: Desk,
) -> None:
    """Through the pipeline, on the real corpus: the reply "Fed" is shown as "Federal Reserve",
    cited where an article writes it so."""
    retriever = corpus_desk.retriever("corpus")
    answerer = Answerer(retriever, ScriptedReply("Fed", [-0.1]), corpus_desk.settings)
    answer = answerer.answer(
        "Which institution was forced to hike interest rates aggressively as home prices boomed?"
    )
    shown = answer.text.split(" [")[0]
    assert not answer.abstained and shown in ("Federal Reserve", "the Federal Reserve")
    assert "Federal Reserve" in answer.citations[0].text


def test_a_name_is_cited_from_each_article_that_names_it() -> None:
    """Where the answer stands, then each other article naming it (a later mention's
    shortening counts) by its sentence closest to the question; an article that does not
    name it is not cited, and no article twice."""
    read = articles(TRIAL)
    question = "Who is accused of fraud and planned a board of experts for FTX?"
    located = locate("Sam Bankman-Fried", read)
    assert located is not None and located.item.article_id == "techcrunch"
    cited = witnesses(located, question, read, limit=4)
    assert [c.article_id for c in cited] == ["techcrunch", "cnbc", "verge"]
    assert cited[2].sentence.text.startswith("Wang testified")  # not the trader's sentence
    assert [c.article_id for c in witnesses(located, question, read, limit=2)] == [
        "techcrunch",
        "cnbc",
    ]
    assert witnesses(located, question, read, limit=1) == [located.item]


def test_a_sentence_names_an_answer_by_its_words_or_a_shortening_of_the_name() -> None:
    assert names_it("Sam Bankman-Fried", "Bankman-Fried planned a board.")
    assert names_it("Federal Reserve", "The Fed held rates.")
    assert names_it("Google", "Google's lawyers said so.")
    assert not names_it("Google", "Alphabet's lawyers said so.")
    assert not names_it("Sam Bankman-Fried", "Caroline Ellison testified.")
    assert names_it("Sam Bankman-Fried", "SBF testified.")
    # A first name is shared by many people: "Sam" does not name Sam Altman.
    assert not names_it("Sam Altman", "Sam Bankman-Fried testified.")
    assert names_it("Sam Altman", "Altman returned to OpenAI.")
    assert not names_it("the European Commission", "The Fed held rates.")


def test_a_short_answer_cites_every_article_read_that_names_it(corpus_desk: Desk) -> None:
    """Through the pipeline, on the real corpus: a name several outlets report is cited from
    several articles, each sentence naming it, at most `short_cited_articles`."""
    settings = corpus_desk.settings.model_copy(update={"short_cited_articles": 3})
    retriever = corpus_desk.retriever("corpus")
    answerer = Answerer(retriever, ScriptedReply("Sam Bankman-Fried"), settings)
    answer = answerer.answer(
        "Who is the founder of FTX that TechCrunch and The Verge report was on trial for fraud?"
    )
    assert not answer.abstained and answer.text.startswith("Sam Bankman-Fried [1]")
    assert 2 <= len(answer.citations) <= 3
    assert len({c.article_id for c in answer.citations}) == len(answer.citations)
    assert all(names_it("Sam Bankman-Fried", c.text) for c in answer.citations)
    assert answer.sentences[0].citations == [c.n for c in answer.citations]


def test_a_choice_between_outlets_goes_to_the_one_whose_articles_say_it(corpus_desk: Desk) -> None:
    """Offered two outlets, the model picks the one that did not report it: the outlet whose
    articles support what the question asks is the answer, cited by that sentence, its
    confidence the support score. A pick the articles bear out stands, named in full."""
    question = (
        "Between the TechCrunch report and The Verge report on Sam Bankman-Fried's trial, which "
        "news source reported that Wang heard Bankman-Fried tell another trader it was okay to "
        "keep withdrawing money from the account?"
    )
    retriever = corpus_desk.retriever("corpus")
    for reply in ("TechCrunch", "The Verge"):
        answer = Answerer(retriever, ScriptedReply(reply, [-0.1]), corpus_desk.settings).answer(
            question
        )
        assert not answer.abstained and answer.text == "The Verge [1]"
        (citation,) = answer.citations
        assert citation.source == "The Verge" and citation.text.startswith("Wang testified")
        assert answer.timings.get("chosen") == (1 if reply == "TechCrunch" else None)
        assert answer.confidence is not None and answer.confidence > 0.5
        assert answer.mode == "short"  # a confidence, from the support, not "no confidence"


def test_a_company_the_parser_now_and_then_takes_for_a_person_is_no_person() -> None:
    """spaCy's small model labels "OpenAI" a person in one sentence of three: a name is of the
    kind most of its mentions are read as, so asked "Who ...?", the person stands in for it."""
    rows = [
        ("verge", "OpenAI told staff on Sunday."),
        ("fortune", "The board of OpenAI said it had lost confidence in Sam Altman."),
        ("techcrunch", "OpenAI, which makes ChatGPT, grew fast."),
        ("cnbc", "Microsoft hired Sam Altman to lead a new team."),
    ]
    who = "Who is the individual at the centre of the board's decision?"
    assert corroborated("OpenAI", who, articles(rows), person=True) == "Sam Altman"


ALTERNATIVES = "Did Russia invite or snub Zelensky for talks in Moscow?"


def test_an_alternative_question_is_answered_with_one_of_its_alternatives(
    seed_desk: Desk,
) -> None:
    """ "invite or snub?" is no yes/no question: the reply is held to the alternatives (or
    "not stated"), shown as the answer and cited by the report's sentence closest to it."""
    model = ChoosingReply("Yes", "invite", [-0.01])
    answer = Answerer(seed_desk.retriever(), model, seed_desk.settings).answer(ALTERNATIVES)
    (asked,) = model.requests
    assert asked.grammar == 'root ::= "invite" | "snub" | "not stated"'
    assert "invite; snub" in asked.messages[-1]["content"].split("Question:")[1]
    assert not answer.abstained and answer.mode == "choice"
    assert answer.text.startswith("Invite. [1]") and answer.confidence is not None
    assert "invited" in answer.citations[0].text
    not_stated = ChoosingReply("Yes", "not stated", [-0.01])
    answer = Answerer(seed_desk.retriever(), not_stated, seed_desk.settings).answer(ALTERNATIVES)
    assert answer.abstained and answer.sentences == [] and answer.timings["not_stated"] == 1


def test_a_reply_that_is_none_of_the_alternatives_is_said_to_be_so(seed_desk: Desk) -> None:
    """A backend that takes no grammar replies what it likes: not one of the alternatives, it
    is not shown as the answer, and the abstention says why."""
    answer = short_answer_to(seed_desk, "Yes", ALTERNATIVES)
    assert answer.abstained and answer.mode == "choice" and answer.timings["outside"] == 1
    assert answer.text.endswith("none of the alternatives the question offers.")
    assert short_answer_to(seed_desk, "Snub.", ALTERNATIVES).text.startswith("Snub. [1]")


def short_answer_to(desk: Desk, reply: str, question: str) -> Answer:
    answerer = Answerer(desk.retriever(), ScriptedReply(reply, [-0.01]), desk.settings)
    return answerer.answer(question)
