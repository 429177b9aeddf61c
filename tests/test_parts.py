"""Answering by parts on the MultiHop-RAG corpus: the real index, embedder, spaCy reader and
support model, with the `extractive` backend (the parts path composes its verdict in code).

The questions are written for these tests from articles of the corpus, not taken from the
benchmark's question splits.
"""

from __future__ import annotations

from typing import Any

import pytest

from rag.answering.parts import denied, judged
from rag.answering.support import default_model
from rag.desk import Desk

STEAM_DECK = (
    "Does the Engadget article report that the Steam Deck OLED goes on sale on November 16th, "
    "while the Polygon article says that Valve has been improving the hardware through updates?"
)


def ask(desk: Desk, question: str) -> tuple[list[tuple[str, dict[str, Any]]], Any]:
    events = list(desk.answerer("corpus", "extractive").stream(question))
    return events, events[-1][1]["answer"]


@pytest.fixture(scope="module")
def desk(corpus_desk: Desk) -> Desk:
    return corpus_desk


def test_each_part_streams_its_own_finding_from_its_own_outlet(desk: Desk) -> None:
    events, answer = ask(desk, STEAM_DECK)
    kinds = [k for k, _ in events]
    # each part as soon as it is found, then the verdict, then the whole answer
    assert kinds.count("part") == 2
    assert kinds.index("verdict") > max(i for i, k in enumerate(kinds) if k == "part")
    # the stream opens with the sentences the verdict reads, numbered as the answer cites them
    assert kinds[0] == "evidence"
    read = {s["n"]: s for s in events[0][1]["sentences"]}
    assert kinds[-1] == "done"
    assert answer.text.startswith("Yes.") and not answer.abstained
    assert [p["source"] for p in answer.parts] == ["Engadget", "Polygon"]
    by_n = {c.n: c for c in answer.citations}
    for part in answer.parts:
        assert part["status"] == "supported" and part["citations"]
        cited = [by_n[n] for n in part["citations"]]
        assert all(c.source == part["source"] for c in cited)
        assert all(read[c.n]["text"] == c.text for c in cited)
        assert part["finding"].startswith(f"{part['source']} (2023-11-")
    assert "November 16" in by_n[answer.parts[0]["citations"][0]].text
    threshold = default_model().threshold  # each part carries the score that decided it
    assert all(part["score"] >= threshold for part in answer.parts)
    # the verdict, the probability that it is right (fitted on dev: bench/verdict_fit.py)
    assert answer.confidence is not None and 0 < answer.confidence < 1


def test_a_claim_its_outlet_does_not_make_is_answered_no_with_what_it_says(desk: Desk) -> None:
    _, answer = ask(
        desk,
        "Does the Engadget article report that the Steam Deck OLED goes on sale on December 25th?",
    )
    assert answer.text.startswith("No.") and not answer.abstained
    (part,) = answer.parts
    assert part["status"] == "not supported" and part["citations"]
    # what the part asks is quoted as the question words it, whatever its grammar
    assert f"does not say so ({part['asks']}); the closest it comes:" in part["finding"]
    assert 0 <= part["score"] < default_model().threshold
    assert answer.confidence is not None and 0 < answer.confidence < 1


def test_a_denial_the_closest_sentence_does_not_make_is_answered_no(desk: Desk) -> None:
    """The sentence closest to a claim that something did not happen says that it did: it
    states what the claim denies, however near its words are."""
    _, answer = ask(
        desk,
        "Does the Engadget article report that the Steam Deck OLED does not go on sale on "
        "November 16th?",
    )
    assert answer.text.startswith("No.") and not answer.abstained
    (part,) = answer.parts
    assert part["status"] == "contradicted" and part["citations"]
    assert part["finding"].startswith("Engadget (2023-11-09) says otherwise (")
    assert "November 16" in part["finding"]  # what the outlet says instead, cited
    assert part["score"] >= default_model().threshold  # as near the claim as support is
    assert answer.confidence is not None and 0 < answer.confidence < 1
    assert denied("it does not go on sale", "It goes on sale on November 16th.")
    assert denied("no change in the club's ranking", "The club moved up to ninth.")
    assert not denied("it does not go on sale", "It will not be sold before 2024.")
    assert not denied("it goes on sale", "It goes on sale on November 16th.")
    # a negation inside a modifier qualifies the claim; it denies nothing
    assert not denied("projects run without naming anyone", "The projects ran all year.")
    # a sentence too far from the claim to support it contradicts nothing either
    claim, sentence = "it does not go on sale", "It goes on sale on November 16th."
    assert judged(0.9, 0.72, claim, sentence) == "contradicted"
    assert judged(0.5, 0.72, claim, sentence) == "not supported"
    assert judged(0.9, 0.72, "it goes on sale", sentence) == "supported"


def test_before_and_after_are_decided_by_publication_dates(desk: Desk) -> None:
    # Engadget's Steam Deck article is of 2023-11-09; The Age's AFLW report of 2023-10-20.
    _, before = ask(
        desk,
        "Did The Age report that Richmond took the AFLW points in Cairns before Engadget "
        "reported that the Steam Deck OLED goes on sale on November 16th?",
    )
    _, after = ask(
        desk,
        "Did Engadget report that the Steam Deck OLED goes on sale on November 16th before "
        "The Age reported that Richmond took the AFLW points in Cairns?",
    )
    assert before.text.startswith("Yes.") and after.text.startswith("No.")
    assert [p["source"] for p in before.parts] == ["The Age", "Engadget"]


def test_a_part_from_an_outlet_the_index_lacks_is_named_and_the_others_still_answer(
    desk: Desk,
) -> None:
    _, answer = ask(
        desk,
        "Does the Engadget article report that the Steam Deck OLED goes on sale on November "
        "16th, while the article from Bloomberg says that Valve shares rose?",
    )
    assert answer.abstained
    assert answer.text == "The indexed news has nothing from Bloomberg on this."
    engadget, bloomberg = answer.parts
    assert engadget["status"] == "supported" and engadget["citations"]
    assert (bloomberg["source"], bloomberg["status"], bloomberg["citations"]) == (
        "Bloomberg",
        "missing",
        [],
    )


def test_each_outlet_named_together_is_asked_the_claim(desk: Desk) -> None:
    # Engadget reports the date; Polygon's article on the Steam Deck OLED does not give it.
    events, answer = ask(
        desk,
        "Do both the Engadget and the Polygon articles report that the Steam Deck OLED goes on "
        "sale on November 16th?",
    )
    engadget, polygon = answer.parts
    assert (engadget["source"], polygon["source"]) == ("Engadget", "Polygon")
    assert (
        engadget["asks"] == polygon["asks"] == "the Steam Deck OLED goes on sale on November 16th"
    )
    assert (engadget["status"], polygon["status"]) == ("supported", "not supported")
    assert answer.text.startswith("No.")
    by_n = {c.n: c for c in answer.citations}
    assert "November 16" in by_n[engadget["citations"][0]].text
    assert by_n[polygon["citations"][0]].source == "Polygon"


def test_a_part_naming_two_reports_cites_each(desk: Desk) -> None:
    # nothing joins the two outlets' clauses: one part, which names two reports
    events, answer = ask(
        desk,
        "Does the Engadget article on the Steam Deck OLED report a sale date of November 16th "
        "compared to the price given in the Polygon article?",
    )
    (part,) = answer.parts
    by_n = {c.n: c for c in answer.citations}
    engadget, polygon = part["citations"]
    assert (by_n[engadget].source, by_n[polygon].source) == ("Engadget", "Polygon")
    assert "November 16" in by_n[engadget].text
    # what the second report says is shown as what it says, not as support it does not give
    assert "The closest Polygon (2023-11-09) comes: “" in part["finding"]
    assert answer.text.startswith("Yes.") and answer.sentences[0].citations == [engadget]
    assert {engadget, polygon} <= {s["n"] for s in events[0][1]["sentences"]}
