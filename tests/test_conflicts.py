"""Reports that differ (rag/answering/conflicts.py) with the real parser and embedder, and an answer
over a real index that shows both sides. bench/conflicts.py measures it on the 30 pairs of
eval/sets/conflicts.jsonl; these tests pin what a reader relies on."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from bench.servers import free_port
from rag.answering.answer_types import Answer, AnswerSentence, Citation
from rag.answering.conflicts import find_conflicts, show_conflicts
from rag.answering.context import ContextSentence
from rag.answering.prompts import REPORTS_DIFFER
from rag.desk import Desk
from rag.ingestion.articles import make_article
from rag.ingestion.sentences import split_sentences
from rag.reading.question import COUNT, NAME, YESNO
from tests.conftest import ROOT

PAIRS = {r["id"]: r for r in map(json.loads, (ROOT / "eval/sets/conflicts.jsonl").open())}


def item(article_id: str, text: str, source: str, title: str = "Storm") -> ContextSentence:
    (sentence,) = split_sentences(article_id, text)
    return ContextSentence(0, sentence, article_id, title, source, None, 1_700_000_000, 0.0)


def reason(embedder, kind: str, a: str, b: str, titles: tuple[str, str] = ("Storm",) * 2):
    found = find_conflicts(
        kind, [item("a", a, "A", titles[0])], [item("b", b, "B", titles[1])], embedder.embed
    )
    return found[0].reason if found else None


def test_two_counts_of_one_thing_differ(embedder) -> None:
    assert (
        reason(
            embedder,
            COUNT,
            "The storm left 40,000 homes without power, the utility company said.",
            "About 65,000 homes lost power during the storm, the emergency agency said.",
        )
        == "values"
    )


def test_the_same_count_told_by_other_people_does_not_differ(embedder) -> None:
    assert (
        reason(
            embedder,
            COUNT,
            "The storm left 40,000 homes without power, the utility company said.",
            "Some 40,000 homes lost power in the storm, two officials told reporters.",
        )
        is None
    )


def test_a_denial_differs_from_the_report_it_denies(embedder) -> None:
    assert (
        reason(
            embedder,
            YESNO,
            "Greywater filed for bankruptcy protection on Monday, court papers show.",
            "Greywater has not filed for bankruptcy, the company said in a statement.",
        )
        == "negation"
    )


def test_different_names_differ_only_where_the_question_asks_for_one(embedder) -> None:
    a = "Paulo Santos will coach the national team, the federation president said."
    b = "Henrik Berg will take charge of the national team, two federation officials said."
    assert reason(embedder, NAME, a, b) == "values"
    assert reason(embedder, COUNT, a, b) is None


def test_a_name_differs_only_from_a_name_of_its_kind(embedder) -> None:
    summit = "The next climate summit will be held in Lisbon, the host committee said."
    assert reason(embedder, NAME, summit, summit.replace("Lisbon", "Porto")) == "values"
    opened = "The next climate summit will be opened by Ana Costa, a negotiator told reporters."
    assert reason(embedder, NAME, summit, opened) is None


def test_reports_weeks_apart_are_of_two_moments(embedder) -> None:
    """A figure given weeks later (a new offer, a revised count) is newer news, not a
    dispute."""
    a = item("a", "The storm left 40,000 homes without power, the utility company said.", "A")
    b = item("b", "About 65,000 homes lost power during the storm, the emergency agency said.", "B")
    assert find_conflicts(COUNT, [a], [b], embedder.embed)
    later = replace(b, published_at=a.published_at + 30 * 86_400)
    assert find_conflicts(COUNT, [a], [later], embedder.embed) == []


def test_different_figures_on_different_matters_do_not_differ(embedder) -> None:
    assert (
        reason(
            embedder,
            COUNT,
            "The storm left 40,000 homes without power, the utility company said.",
            "The festival sold 65,000 tickets in its first week, the organisers said.",
        )
        is None
    )


def test_who_said_it_is_not_part_of_the_matter(embedder) -> None:
    """ "the mayor's office said", "council records show": the reports are compared without
    their attributions."""
    assert (
        reason(
            embedder,
            COUNT,
            "The council approved $450 million for the new stadium, the mayor's office said.",
            "The approved package totals $380 million, council records show.",
            ("Council backs Eastbridge stadium plan", "Eastbridge stadium funding passes"),
        )
        == "values"
    )


def test_a_later_mention_is_read_under_its_headline(embedder) -> None:
    assert (
        reason(
            embedder,
            COUNT,
            "The bill passed with 214 votes, the speaker announced.",
            "It received 189 votes, according to the official record.",
            ("Ostrava transit bill passes", "Transit bill clears parliament"),
        )
        == "values"
    )


def test_a_number_that_stands_for_people_is_no_figure(embedder) -> None:
    """ "the two" (a couple) and "one of her shows" count nothing two reports could give
    differently."""
    a = "Swift and Kelce were seen in Kansas City, and the two are having a great time."
    b = "Swift and Kelce were seen in Kansas City, where he attended one of her shows."
    assert reason(embedder, YESNO, a, b) is None
    assert (
        reason(
            embedder,
            YESNO,
            a.replace("the two", "2,000 fans"),
            b.replace("one of her shows", "a show with 3,000 fans"),
        )
        == "values"
    )


def test_reports_that_answer_a_yes_no_question_differently_differ(embedder) -> None:
    """Where a model can read them, "approved" and "rejected" differ though neither report is
    negated; the judge here stands for the model's reading, which the llm tests run for real."""
    a = item("a", "The court approved the Palmer merger with conditions, the judge said.", "A")
    b = item("b", "The court rejected the Palmer merger, a court statement said.", "B")
    c = item("c", "The Palmer merger was approved by the court on Wednesday.", "C")
    readings = {a.sentence.text: "yes", b.sentence.text: "no", c.sentence.text: "yes"}
    asked: list[str] = []

    def judge(sentence: str) -> str | None:
        asked.append(sentence)
        return readings[sentence]

    assert find_conflicts(YESNO, [a], [b], embedder.embed) == []
    (found,) = find_conflicts(YESNO, [a], [c, b], embedder.embed, judge)
    assert found.reason == "verdict" and [s.article_id for s in found.sides] == ["a", "b"]
    assert len(asked) == len(set(asked))  # each report is read once
    # Reports the judge reads alike, or that it cannot read, do not differ.
    assert find_conflicts(YESNO, [a], [c], embedder.embed, judge) == []
    assert find_conflicts(YESNO, [a], [b], embedder.embed, lambda s: None) == []
    # Only a yes/no question has answers of this kind.
    assert find_conflicts(COUNT, [a], [b], embedder.embed, judge) == []


def test_a_judge_whose_backend_is_down_reads_nothing_and_is_asked_once(seed_desk: Desk) -> None:
    """A real OpenAI-compatible client against a closed port on 127.0.0.1: the comparison
    goes without the model's reading and the answer stands."""
    seed_desk.settings = seed_desk.settings.model_copy(
        update={"openai_base_url": f"http://127.0.0.1:{free_port()}/v1", "openai_model": "m"}
    )
    answerer = seed_desk.answerer(backend="openai")
    generator = answerer.generator
    calls: list[object] = []
    stream = generator.stream

    def counted(request):  # type: ignore[no-untyped-def]
        calls.append(request)
        return stream(request)

    generator.stream = counted  # type: ignore[method-assign]
    judge = answerer.judge("Did the court approve the merger?")
    assert judge("The court approved the merger.") is None
    assert judge("The court rejected the merger.") is None
    assert len(calls) == 1  # a backend that failed is not asked again for this answer


def test_an_outlet_does_not_conflict_with_itself(embedder) -> None:
    """Its later article on the same matter updates the earlier one."""
    a = item("a", "The storm left 40,000 homes without power.", "A")
    for b in (
        item("a", "By evening 65,000 homes had lost power.", "A"),
        item("b", "By evening 65,000 homes had lost power.", "A"),
    ):
        assert find_conflicts(COUNT, [a], [b], embedder.embed) == []
    other = item("c", "By evening 65,000 homes had lost power.", "B")
    assert find_conflicts(COUNT, [a], [other], embedder.embed)


@pytest.fixture
def desk(seed_desk: Desk) -> Desk:
    return seed_desk


def test_an_answer_shows_both_sides_attributed_and_picks_neither(desk: Desk) -> None:
    pair = PAIRS["conflict-07"]
    desk.ingest_articles([make_article(a, "conflicts", 2_000_000) for a in pair["articles"]])
    answer = desk.answer(pair["question"])
    outlets = [side["outlet"] for side in pair["sides"]]
    assert any(answer.text.startswith(f"{REPORTS_DIFFER} {o} (") for o in outlets)
    cited = {c.sentence_id: c for c in answer.citations}
    for side in pair["sides"]:
        sid = f"{side['article']}#{side['sentence']}"
        assert sid in cited
        # Each side is named by its outlet and date, and cited.
        shown = f"{side['outlet']} ({cited[sid].published_at[:10]}): {cited[sid].text} "
        assert f"{shown}[{cited[sid].n}]" in answer.text
    (conflict,) = answer.conflicts
    assert conflict["reason"] == "values" and len(conflict["citations"]) == 2
    assert all(s.supported for s in answer.sentences if s.text in answer.text)
    # The answer's time includes the comparison.
    assert answer.timings["total_ms"] >= answer.timings["conflicts_ms"] > 0


def test_reports_that_differ_are_shown_where_no_one_answer_could_be_given(desk: Desk) -> None:
    """The context holds both figures; the answer stage gives none (neither sentence names
    the bill the question names). The reports are shown, not "does not say"."""
    pair = PAIRS["conflict-13"]
    desk.ingest_articles([make_article(a, "conflicts", 2_000_000) for a in pair["articles"]])
    answer = desk.answer(pair["question"])
    assert not answer.abstained and answer.text.startswith(REPORTS_DIFFER)
    cited = {c.sentence_id for c in answer.citations}
    assert {f"{side['article']}#{side['sentence']}" for side in pair["sides"]} <= cited
    assert all(side["outlet"] in answer.text for side in pair["sides"])
    assert answer.related == []


def test_reports_that_agree_are_answered_as_before(desk: Desk) -> None:
    pair = PAIRS["conflict-07"]
    first, second = pair["articles"]
    agreeing = second | {"body": second["body"].replace("About 65,000", "About 40,000")}
    desk.ingest_articles([make_article(a, "conflicts", 2_000_000) for a in (first, agreeing)])
    answer = desk.answer(pair["question"])
    assert not answer.abstained and answer.conflicts == []
    assert REPORTS_DIFFER not in answer.text and "40,000" in answer.text


def test_each_pair_names_the_sentence_that_gives_its_side() -> None:
    assert len(PAIRS) >= 30
    for pair in PAIRS.values():
        articles = {a["id"]: a for a in pair["articles"]}
        outlets = {side["outlet"] for side in pair["sides"]}
        assert len(outlets) == 2, pair["id"]
        for side in pair["sides"]:
            article = articles[side["article"]]
            sentence = split_sentences(article["id"], article["body"])[side["sentence"]]
            assert article["source"] == side["outlet"]
            assert any(k.lower() in sentence.text.lower() for k in side["keys"]), pair["id"]


def test_a_short_answer_is_read_for_conflicts_where_it_stands_not_where_it_is_also_named(
    embedder,
) -> None:
    """A short answer stands in its first citation; the others are articles that also name
    it. A report differing from one of those is not a report differing from the answer."""
    said = item("a", "Ana Costa will chair the climate summit, the committee said.", "A")
    also = item(
        "b",
        "Paulo Santos, who worked with Ana Costa, will coach the national team, officials said.",
        "B",
    )
    berg = "Henrik Berg will take charge of the national team, two federation officials said."
    other = item("c", berg, "C")
    said, also = replace(said, n=1), replace(also, n=2)

    def answer() -> Answer:
        citations = [Citation.of(1, said), Citation.of(2, also)]
        return Answer(
            "Who will chair the summit?",
            "Who will chair the summit?",
            "Ana Costa [1][2]",
            [AnswerSentence("Ana Costa", [1, 2], True)],
            citations,
            False,
            mode="short",
        )

    everything = [said, also, other]
    read_whole = answer()
    show_conflicts(read_whole, NAME, everything, embedder, None, everything)
    assert read_whole.text.startswith(REPORTS_DIFFER)  # the witness differs from "C"
    where_it_stands = answer()
    show_conflicts(
        where_it_stands, NAME, everything, embedder, None, everything, where_it_stands.citations[:1]
    )
    assert where_it_stands.text == "Ana Costa [1][2]" and where_it_stands.conflicts == []
