"""Retrieval over the real MultiHop-RAG corpus: hybrid ranking, exact sentences, filters."""

from __future__ import annotations

import json

import pytest

from rag.desk import Desk
from rag.errors import EmptyQuestion, InvalidQuestion, QuestionTooLong
from rag.types import Filters
from tests.conftest import QUESTIONS

pytestmark = pytest.mark.slow


def test_hits_carry_exact_sentences_and_article_metadata(corpus_desk: Desk) -> None:
    hits = corpus_desk.search(
        "eBay coupon for the price difference plus 10 percent", 10, index="corpus"
    )
    assert hits[0].article_id == "mhr-79b14488f38a"
    assert hits[0].source == "The Verge" and hits[0].published_at
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    index = corpus_desk.index("corpus")
    for hit in hits:
        article, _ = index.get_article(hit.article_id)
        assert hit.title == article.title
        for s in hit.sentences:
            assert article.body[s.char_start : s.char_end] == s.text
            assert s.id == f"{hit.article_id}#{s.index}"


def test_gold_evidence_is_found_for_most_dev_questions(corpus_desk: Desk) -> None:
    """A floor well under the benchmark's figure: a regression guard, not the measurement."""
    rows = [json.loads(x) for x in QUESTIONS.read_text(encoding="utf-8").splitlines()]
    answerable = [r for r in rows if r["evidence"]][:40]
    found = total = 0
    for row in answerable:
        texts = {
            s.text
            for h in corpus_desk.search(row["question"], 10, index="corpus")
            for s in h.sentences
        }
        total += len(row["evidence"])
        found += sum(e["sentence"] in texts for e in row["evidence"])
    assert found / total >= 0.75


def test_outlet_names_match_lexically(corpus_desk: Desk) -> None:
    hits = corpus_desk.search("TechCrunch", 10, index="corpus")
    assert sum(h.source == "TechCrunch" for h in hits) >= 8


def test_filters_apply_to_dense_and_lexical_hits(corpus_desk: Desk) -> None:
    window = Filters(sources=("The Verge", "Wired"), published_after=1698796800)  # Nov 2023
    hits = corpus_desk.search("price matching at Best Buy and Target", 10, window, "corpus")
    assert hits
    for hit in hits:
        assert hit.source in {"The Verge", "Wired"}
        assert hit.published_at is not None and hit.published_at >= 1698796800


def test_search_reads_the_outlets_a_question_names(corpus_desk: Desk) -> None:
    """One story many outlets cover: a plain search's ten hits can all come from some of the
    outlets the question names; search reads the question as the answer does, and each named
    outlet's articles are searched on their own, so each is among the hits."""
    question = (
        "Which company is at the center of concerns from different sectors, where 'The Verge' "
        "reports on its control over app distribution and payment systems, 'The Age' discusses "
        "its alleged manipulation of Search for ad revenue, and 'TechCrunch' details a class "
        "action suit for its impact on news publishers' content and revenue?"
    )
    named = {"The Verge", "The Age", "TechCrunch"}
    plain = corpus_desk.retriever("corpus").search(question, 10)
    assert named - {h.source for h in plain}  # what a search that does not read it misses
    hits = corpus_desk.search(question, 10, index="corpus")
    assert len(hits) == 10 and named <= {h.source for h in hits}
    # Filters the request gives decide alone.
    only = corpus_desk.search(question, 10, Filters(sources=("The Age",)), "corpus")
    assert {h.source for h in only} == {"The Age"}


@pytest.mark.parametrize(
    ("question", "k", "error"),
    [
        ("", 10, EmptyQuestion),
        ("   \n", 10, EmptyQuestion),
        ("x" * 2001, 10, QuestionTooLong),
        ("fine", 0, InvalidQuestion),
        ("fine", 101, InvalidQuestion),
    ],
)
def test_bad_questions(corpus_desk: Desk, question: str, k: int, error: type) -> None:
    with pytest.raises(error):
        corpus_desk.search(question, k, index="corpus")


def test_questions_use_an_int8_encoder_that_stays_close_to_the_documents_one(embedder) -> None:
    import numpy as np

    question = "Which four Ukrainian regions does Russia claim to have annexed?"
    int8 = np.array(embedder.embed_query(question))
    fp32 = np.array(embedder.embed([question])[0])
    assert np.linalg.norm(int8) == pytest.approx(1.0, abs=1e-4)
    assert 0.95 < float(int8 @ fp32) < 0.99999  # close, and really a different encoder
