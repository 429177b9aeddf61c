"""Golden sets: the seed set is exact against the seed article; loaders; malformed lines."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from eval.errors import EvalError
from eval.sets import load_golden, load_multihop, load_set, meta_path
from rag.ingestion.articles import load_articles
from rag.ingestion.sentences import split_sentences
from tests.conftest import QUESTIONS, ROOT, SEEDS

SEED_SET = ROOT / "eval" / "sets" / "seed.jsonl"
SEED_ARTICLE = SEEDS / "000_a3768beeca3bd2e8.md"


def test_seed_evidence_sentences_are_exact_sentences_of_the_article() -> None:
    article = load_articles([SEED_ARTICLE], 10_000_000)[0]
    sentences = {s.text for s in split_sentences(article.id, article.body)}
    golden = load_golden(SEED_SET)
    assert golden.problems == []
    for item in golden.items:
        for evidence in item.evidence:
            assert evidence.article_id == article.id, item.id
            assert evidence.sentence in sentences, f"{item.id}: {evidence.sentence!r}"


def test_seed_set_covers_what_it_says() -> None:
    golden = load_golden(SEED_SET)
    items = golden.items
    assert len(items) >= 20 and len({i.id for i in items}) == len(items)
    types = Counter(i.question_type for i in items)
    assert set(types) == {"factoid", "number", "yes_no", "unanswerable", "false_premise"}
    for item in items:
        # Answerable questions carry gold evidence; questions to abstain on carry none.
        assert bool(item.evidence) != item.abstain, item.id
        assert item.abstain == (item.question_type in {"unanswerable", "false_premise"})
    assert {i.answer for i in items if i.question_type == "yes_no"} == {"Yes", "No"}
    meta = json.loads(meta_path(SEED_SET).read_text())
    assert golden.name == meta["name"] == "seed"
    assert golden.version == meta["version"] and meta["description"]


def test_multihop_questions_load_as_they_are() -> None:
    golden = load_multihop(QUESTIONS)
    assert golden.problems == [] and len(golden.items) == 136
    null = [i for i in golden.items if i.question_type == "null_query"]
    assert len(null) == 15 and all(i.abstain and not i.evidence for i in null)
    assert not any(i.abstain for i in golden.items if i.question_type != "null_query")
    assert load_set(QUESTIONS).format == "multihop"  # detected
    assert golden.version.startswith("sha256:")  # no sidecar: versioned by content


def test_malformed_lines_are_reported_with_their_numbers_and_the_rest_loads(
    tmp_path: Path,
) -> None:
    path = tmp_path / "mixed.jsonl"
    good = {"id": "g1", "question": "Who?", "answer": "Galuzin"}
    lines = [
        json.dumps(good),
        '{"id": "broken", "question": ',  # 2: not JSON
        json.dumps(["a", "list"]),  # 3: not an object
        json.dumps({"id": "g2", "question": "What?"}),  # 4: no answer
        "",  # 5: blank lines are fine
        json.dumps({**good, "id": "g3", "aliases": "Galuzin"}),  # 6: aliases not a list
        json.dumps({**good, "id": "g4", "abstain": "yes"}),  # 7: abstain not a bool
        json.dumps({**good, "id": "g5", "evidence": [{"article_id": "a"}]}),  # 8: no sentence
        json.dumps(good),  # 9: duplicate id
        json.dumps({**good, "id": 7, "abstain": True}),  # 10: an integer id is fine
    ]
    path.write_text("\n".join(lines) + "\n")
    golden = load_set(path)
    assert [i.id for i in golden.items] == ["g1", "7"]
    assert [p.line for p in golden.problems] == [2, 3, 4, 6, 7, 8, 9]
    rendered = [p.render(path) for p in golden.problems]
    assert rendered[0].startswith(f"{path}:2: not JSON")
    assert "'answer' must be a non-empty string" in rendered[2]
    assert "evidence[0]: 'sentence'" in rendered[5]
    assert "duplicate id 'g1'" in rendered[6]


def test_unreadable_set_is_a_domain_error(tmp_path: Path) -> None:
    with pytest.raises(EvalError, match="cannot read"):
        load_set(tmp_path / "nope.jsonl")
    with pytest.raises(EvalError, match="unknown set format"):
        load_set(SEED_SET, "csv")
