"""Reports that differ (rag/conflicts.py) with the real parser and embedder, and an answer
over a real index that shows both sides. bench/conflicts.py measures it on the 30 pairs of
eval/sets/conflicts.jsonl; these tests pin what a reader relies on."""

from __future__ import annotations

import json

import pytest

from rag.articles import make_article
from rag.conflicts import find_conflicts
from rag.context import ContextSentence
from rag.desk import Desk
from rag.prompts import REPORTS_DIFFER
from rag.question import COUNT, NAME, YESNO
from rag.sentences import split_sentences
from tests.conftest import ROOT

PAIRS = {r["id"]: r for r in map(json.loads, (ROOT / "eval/sets/conflicts.jsonl").open())}


def item(article_id: str, text: str, source: str) -> ContextSentence:
    (sentence,) = split_sentences(article_id, text)
    return ContextSentence(0, sentence, article_id, "Storm", source, None, 1_700_000_000, 0.0)


def reason(embedder, kind: str, a: str, b: str) -> str | None:
    found = find_conflicts(kind, [item("a", a, "A")], [item("b", b, "B")], embedder.embed)
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
