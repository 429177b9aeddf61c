"""Choose the sentences an answer may cite, under a token budget.

Every context token costs time to first token on a CPU, so the model sees sentences, not
whole chunks. The hits are read as articles (chunks of one article pool their sentences),
articles from an outlet the question names first, then in rank order; round by round, each
article gives its sentence that best matches the question's content words until the budget
is spent. The chosen sentences are then grouped by article in reading order and numbered
1..N; those numbers are what the model cites. Each article is introduced by the opening words
of its headline, its outlet and date, so who/when/which-outlet questions can be answered from
the context alone; a multi-article question needs several articles in the same budget.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from rag.text import content_stems, names, numbers
from rag.types import Hit, Sentence, iso_date

MARKER_TOKENS = 3  # "[12] " before each sentence and its line break
_HEADING_WORDS = 8  # an unpunctuated line this short is a section heading, not a statement
TITLE_WORDS = 6  # of a headline, in an article's header line


def is_heading(text: str) -> bool:
    """ "Key Takeaways", "The Russian Precondition": layout that states nothing citable."""
    return len(text.split()) <= _HEADING_WORDS and text.rstrip()[-1:] not in ".!?\"”’'"


@dataclass(frozen=True)
class ContextSentence:
    n: int  # the id the model cites
    sentence: Sentence
    article_id: str
    title: str
    source: str | None
    url: str | None
    published_at: int | None
    relevance: float  # share of the question's content words the sentence holds
    matched: int = 0  # how many of them
    updated_at: int | None = None


def relevance(question_terms: set[str], text: str) -> float:
    if not question_terms:
        return 0.0
    terms = content_stems(text) | names(text) | numbers(text)
    return len(question_terms & terms) / len(question_terms)


def question_terms(question: str) -> set[str]:
    return content_stems(question) | names(question) | numbers(question)


def select_context(
    question: str,
    hits: Sequence[Hit],
    budget_tokens: int,
    count_tokens: Callable[[Sequence[str]], list[int]],
) -> list[ContextSentence]:
    terms = question_terms(question)
    by_article: dict[str, list[tuple[float, Sentence, Hit]]] = {}
    seen: set[str] = set()
    for hit in _named_outlets_first(question, hits):
        ranked = by_article.setdefault(hit.article_id, [])
        for sentence in hit.sentences:
            if sentence.id in seen or is_heading(sentence.text):  # chunks overlap
                continue
            seen.add(sentence.id)
            ranked.append((relevance(terms, sentence.text), sentence, hit))
    queues = []
    for ranked in by_article.values():
        ranked.sort(key=lambda item: (-item[0], item[1].index))
        if ranked:
            queues.append(ranked)

    # A sentence is read with its article: it counts for the mean of its own match and its
    # article's best, so the second sentence of an article on the question ("The tower will
    # be 310 metres tall." after "Architects presented the Meridian tower.") comes before the
    # best sentence of an article beside it. Ties keep the rounds' order.
    rounds = [item for round_ in _rounds(queues) for item in round_]
    best = {queue[0][2].article_id: queue[0][0] for queue in queues}
    candidates = sorted(
        rounds,
        key=lambda item: -(item[0] + best[item[2].article_id]) / 2,
    )
    if not candidates:
        return []
    # The budget is what the rendered block costs: sentences, their markers, article headers.
    costs = count_tokens([s.text for _, s, _ in candidates])
    hits_by_id = {hit.article_id: hit for _, _, hit in candidates}
    header_costs = dict(
        zip(
            hits_by_id,
            count_tokens(
                [header_line(h.title, h.source, h.published_at) for h in hits_by_id.values()]
            ),
            strict=True,
        )
    )
    chosen: list[tuple[float, Sentence, Hit]] = []
    articles: set[str] = set()
    spent = 0
    for item, cost in zip(candidates, costs, strict=True):
        article_id = item[2].article_id
        header = 0 if article_id in articles else header_costs[article_id]
        cost += MARKER_TOKENS + header
        if spent + cost > budget_tokens:
            continue  # a shorter sentence further down may still fit
        chosen.append(item)
        articles.add(article_id)
        spent += cost

    order = {a: i for i, a in enumerate(dict.fromkeys(h.article_id for _, _, h in chosen))}
    chosen.sort(key=lambda item: (order[item[2].article_id], item[1].index))
    return [
        ContextSentence(
            n=i,
            sentence=sentence,
            article_id=hit.article_id,
            title=hit.title,
            source=hit.source,
            url=hit.url,
            published_at=hit.published_at,
            relevance=score,
            matched=round(score * len(terms)),
            updated_at=hit.updated_at,
        )
        for i, (score, sentence, hit) in enumerate(chosen, start=1)
    ]


def _named_outlets_first(question: str, hits: Sequence[Hit]) -> list[Hit]:
    """ "Did the article from The Verge ...": the best hit of each outlet the question names
    leads, so that each named article gets a sentence before the budget runs out."""
    lowered = question.lower()
    named: dict[str, Hit] = {}
    for hit in hits:
        source = (hit.source or "").lower()
        if source and source not in named and _names(lowered, source):
            named[source] = hit
    leading = list(named.values())
    return leading + [h for h in hits if h not in leading]


def _names(text: str, name: str) -> bool:
    return re.search(rf"(?<!\w){re.escape(name)}(?!\w)", text) is not None


def _rounds(queues: list[list[tuple[float, Sentence, Hit]]]):  # type: ignore[no-untyped-def]
    depth = max((len(q) for q in queues), default=0)
    for level in range(depth):
        yield [q[level] for q in queues if level < len(q)]


def header_line(title: str, source: str | None, published_at: int | None) -> str:
    date = (iso_date(published_at) or "")[:10] or "date unknown"
    if not title:  # a headline left out (`Retriever.without_instructions`)
        return f"({source or 'outlet unknown'}, {date})"
    headline = title.split()
    if len(headline) > TITLE_WORDS:
        title = " ".join(headline[:TITLE_WORDS]) + "…"
    return f'"{title}" ({source or "outlet unknown"}, {date})'


def render_context(context: Sequence[ContextSentence]) -> str:
    """The context block of the prompt: article headers, then numbered sentences."""
    lines: list[str] = []
    current = None
    for item in context:
        if item.article_id != current:
            current = item.article_id
            lines.append(header_line(item.title, item.source, item.published_at))
        lines.append(f"[{item.n}] {item.sentence.text}")
    return "\n".join(lines)
