"""Search by parts: each part of a question searches the outlets and the window it names.

Enters: a question's `Reading` (`rag.reading.question`) and a `Retriever`. Leaves: each part's
hits (`gather`: a search filtered to the outlets and the publication window the part names,
the window dropped when nothing in it matches, as a question's date may be a day off its
article's), and the hits of the parts and of the plain search taken in turn (`merged_hits`), so
a story many outlets cover still yields each named outlet's article. `read_search` is search
as the answer reads the question (`newsdesk search`, `/v1/search`); the parts' findings are
made from the hits by `rag.answering.parts`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rag.reading.clauses import MIN_CLAIM_WORDS
from rag.reading.question import Part, Reading, read_question
from rag.retrieval.retrieve import Retriever, check_question
from rag.types import Filters, Hit


@dataclass
class PartEvidence:
    part: Part
    hits: list[Hit]


def gather(
    retriever: Retriever, question: str, reading: Reading, k: int, each_outlet: bool = False
) -> list[PartEvidence]:
    """Each part's hits: a search filtered to the outlets and the window the part names.
    `each_outlet`: a part naming several outlets searches each on its own, its hits taken in
    turn, so the outlet that covers a story less still gives its best article. (Search reads
    so; the answer does not: on the dev split it found more gold sentences in the top 10,
    0.941 -> 0.950, but the embedded model then named 41 answers of 50 against 43.)"""
    out = []
    for part in reading.parts:
        query = part.text if len(part.text.split()) >= MIN_CLAIM_WORDS else question
        if part.unknown and not part.sources:
            out.append(PartEvidence(part, []))  # an outlet the index does not hold
            continue
        hits = _search(
            retriever, query, k, Filters(part.sources, part.after, part.before), each_outlet
        )
        if not hits and part.after is not None:
            hits = _search(retriever, query, k, Filters(part.sources), each_outlet)
        out.append(PartEvidence(part, hits))
    return out


def _search(
    retriever: Retriever, query: str, k: int, filters: Filters, each_outlet: bool
) -> list[Hit]:
    if not filters:
        return []
    if not each_outlet or len(filters.sources) < 2:
        return retriever.search(query, k, filters)
    after, before = filters.published_after, filters.published_before
    rankings = [retriever.search(query, k, Filters((s,), after, before)) for s in filters.sources]
    return _in_turn(rankings)[:k]


def read_search(retriever: Retriever, question: str, k: int | None = None) -> list[Hit]:
    """Search as the answer reads the question: the outlets (and dates) each part names give
    searches of their own (`gather`), taken in turn with the plain search's hits, so a story
    many outlets cover still yields each named outlet's article. A question naming no outlet
    is searched plainly."""
    question = check_question(question)
    k = retriever.settings.retrieve_k if k is None else k
    hits = retriever.search(question, k)
    reading = read_question(question, retriever.outlets())
    if not any(p.outlets for p in reading.parts):
        return hits
    return merged_hits(gather(retriever, question, reading, k, each_outlet=True), hits)[:k]


def merged_hits(evidence: Sequence[PartEvidence], hits: Sequence[Hit]) -> list[Hit]:
    """The parts' hits, taken in turn (each part's best first), then the question's own."""
    return _in_turn([list(e.hits) for e in evidence] + [list(hits)])


def _in_turn(rankings: Sequence[Sequence[Hit]]) -> list[Hit]:
    """One hit from each ranking in turn, each ranking's best first, none twice."""
    queues = [list(r) for r in rankings]
    seen: set[str] = set()
    out: list[Hit] = []
    while any(queues):
        for queue in queues:
            while queue:
                hit = queue.pop(0)
                if hit.chunk_id not in seen:
                    seen.add(hit.chunk_id)
                    out.append(hit)
                    break
    return out
