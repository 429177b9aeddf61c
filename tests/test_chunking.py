"""Chunks are whole sentences, under the token budget, overlapping by whole sentences."""

from __future__ import annotations

from rag.ingestion.chunking import chunk_sentences
from rag.ingestion.sentences import split_sentences

BODY = (
    "The U.S. economy grew 3.5% in the third quarter. Analysts had expected 3.1%. "
    "“It was a strong quarter,” said Mr. Lee. Consumer spending led the gains. "
    "Exports fell for a second month. The Fed meets again on Jan. 5. "
    "Markets rallied on the news. Bond yields dipped."
)


def test_chunks_pack_whole_sentences_under_budget_with_overlap() -> None:
    sentences = split_sentences("a1", BODY)
    tokens = [len(s.text.split()) for s in sentences]
    chunks = chunk_sentences("a1@h", "a1", sentences, tokens, max_tokens=20, overlap=1)
    assert len(chunks) > 2
    for chunk in chunks:
        assert chunk.article_id == "a1"
        assert chunk.token_count <= 20 or len(chunk.sentences) == 1
        assert BODY[chunk.char_start : chunk.char_end].startswith(chunk.sentences[0].text)
    # Every sentence is covered, in order, and neighbours share exactly one sentence.
    covered = {s.index for c in chunks for s in c.sentences}
    assert covered == set(range(len(sentences)))
    for left, right in zip(chunks, chunks[1:], strict=False):
        assert left.sentences[-1] == right.sentences[0]
    assert [c.id for c in chunks] == [f"a1@h:{i}" for i in range(len(chunks))]


def test_title_prefix_counts_against_the_budget() -> None:
    sentences = split_sentences("a", BODY)
    tokens = [len(s.text.split()) for s in sentences]
    plain = chunk_sentences("a", "a", sentences, tokens, max_tokens=30, overlap=0)
    prefixed = chunk_sentences(
        "a", "a", sentences, tokens, max_tokens=30, overlap=0, prefix_tokens=10
    )
    assert len(prefixed) > len(plain)
    assert all(c.token_count <= 20 or len(c.sentences) == 1 for c in prefixed)


def test_oversized_sentence_is_a_chunk_of_its_own_and_overlap_always_advances() -> None:
    sentences = split_sentences("a", "Short one. " + "Very long " * 50 + "end. Short two.")
    tokens = [len(s.text.split()) for s in sentences]
    chunks = chunk_sentences("a", "a", sentences, tokens, max_tokens=10, overlap=3)
    assert [len(c.sentences) for c in chunks] == [1, 1, 1]


def test_no_sentences_no_chunks() -> None:
    assert chunk_sentences("a", "a", [], [], max_tokens=10, overlap=1) == []
