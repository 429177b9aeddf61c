"""Pack an article's sentences into chunks of whole sentences under a token budget.

Chunks overlap by a few sentences so a fact that spans a boundary is still found whole. The
packer works on our `Sentence` objects rather than strings (langchain's splitters return bare
strings) because every chunk must know exactly which sentences, with offsets, it holds.
Bump `rag.types.CHUNKER_VERSION` whenever the output for the same input can change: indexes
record it.
"""

from __future__ import annotations

from collections.abc import Sequence

from rag.types import Chunk, Sentence


def chunk_sentences(
    id_prefix: str,
    article_id: str,
    sentences: Sequence[Sentence],
    token_counts: Sequence[int],
    *,
    max_tokens: int,
    overlap: int,
    prefix_tokens: int = 0,
) -> list[Chunk]:
    """Greedy packing; `prefix_tokens` is what the title prepended to every chunk costs.

    A single sentence over budget becomes a chunk of its own (the embedder truncates it; its
    text and offsets stay whole). Overlap never makes a chunk that adds no new sentence.
    """
    budget = max(max_tokens - prefix_tokens, 1)
    chunks: list[Chunk] = []
    start = 0
    while start < len(sentences):
        end, used = start, 0
        while end < len(sentences) and (end == start or used + token_counts[end] <= budget):
            used += token_counts[end]
            end += 1
        chunks.append(
            Chunk(
                id=f"{id_prefix}:{len(chunks)}",
                article_id=article_id,
                sentences=tuple(sentences[start:end]),
                token_count=used,
            )
        )
        if end >= len(sentences):
            break
        start = max(end - overlap, start + 1)
    return chunks
