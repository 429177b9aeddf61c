"""Answer by parts: each part of a question gets its own evidence and its own finding.

Each part's evidence is what its own search found (`rag.answering.part_search.gather`).
`decide` answers a yes/no question about what
named outlets report ("Does the article from X suggest that ...?"): each part's finding is the
sentence of its outlet's articles that best supports the part's claim (`rag.answering.support`), and
the verdict is composed from the findings in code:

* every part supported -> "Yes", citing each part's sentence;
* a part whose outlet's articles are there but state nothing that supports it -> "No", citing
  the closest they come (what the outlet says instead);
* a part claiming that something is not so, whose closest sentence (supporting it by the
  support model's score) negates nothing -> "No": that sentence states what the claim
  denies, and the part is contradicted, the outlet said to say otherwise (`denied`);
* "A ... before/after B ...": both parts supported, then the publication dates decide.

A part that names several reports (two outlets in one clause, "the Fortune article ... another
Fortune article") reads as many articles: beside its finding it cites the sentence of each
next article (in order of support) that comes closest to the part's claim, so every report it
names is shown, said to support the claim only when it scores as a finding must; the verdict
is read from the finding alone.

A question about what an outlet reports is answered from that outlet's articles, so their
silence on a claim is evidence against it. A question that names no outlet is not decided this
way: the absence of a report is no evidence that something did not happen.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from rag.answering.answer_types import Answer, AnswerSentence, Citation
from rag.answering.confidence import verdict_confidence
from rag.answering.context import ContextSentence, is_heading
from rag.answering.part_search import PartEvidence
from rag.answering.prompts import ABSTAIN_TEXT, NOTHING_FROM
from rag.answering.stage import Event, Run, Stage
from rag.answering.support import SupportModel, default_model, features
from rag.config import Settings
from rag.generators.base import Generator
from rag.reading.clauses import MIN_CLAIM_WORDS
from rag.reading.english import denies, negations
from rag.reading.question import YESNO, Part, Reading
from rag.retrieval.retrieve import Retriever
from rag.types import Hit, iso_date

SUPPORTED, NOT_SUPPORTED, MISSING = "supported", "not supported", "missing"
CONTRADICTED = "contradicted"  # its closest sentence states what the claim denies


@dataclass
class Finding:
    part: Part
    status: str  # SUPPORTED, NOT_SUPPORTED, CONTRADICTED or MISSING
    sentence: ContextSentence | None = None
    score: float = 0.0
    # the closest sentence of each further article the part names, and whether it supports it
    beside: tuple[tuple[ContextSentence, bool], ...] = ()


def decides(reading: Reading) -> bool:
    """Is this a yes/no question about what named outlets report, part by part?"""
    return (
        reading.kind == YESNO
        and bool(reading.parts)
        and all(p.outlets and len(p.text.split()) >= MIN_CLAIM_WORDS for p in reading.parts)
    )


def find(
    evidence: PartEvidence,
    embed,
    model: SupportModel | None = None,  # type: ignore[no-untyped-def]
) -> Finding:
    model = model or default_model()
    candidates = candidates_of(evidence.hits)
    if not candidates:
        return Finding(evidence.part, MISSING)
    claim = evidence.part.text
    vectors = embed([claim] + [c.sentence.text for c in candidates])
    rows = features(
        claim,
        [c.sentence.text for c in candidates],
        [c.title for c in candidates],
        vectors[0],
        vectors[1:],
    )
    scores = model.scores(rows)
    best = int(np.argmax(scores))  # the first of equals, as a stable sort would give

    def status_of(i: int) -> str:
        return judged(float(scores[i]), model.threshold, claim, candidates[i].sentence.text)

    status = status_of(best)
    beside = [
        (candidates[i], status_of(i) == SUPPORTED)
        for i in _further(
            candidates, scores, best, len(evidence.part.named) - 1, evidence.part.sources
        )
    ]
    return Finding(evidence.part, status, candidates[best], float(scores[best]), tuple(beside))


def judged(score: float, threshold: float, claim: str, sentence: str) -> str:
    """A part's status from its closest sentence: below the support model's threshold, not
    supported; at or above it, contradicted where the sentence states what the claim denies
    (`denied`), else supported."""
    if score < threshold:
        return NOT_SUPPORTED
    return CONTRADICTED if denied(claim, sentence) else SUPPORTED


def denied(claim: str, sentence: str) -> bool:
    """The claim says that what it is about is not so (`english.denies`), and the sentence
    negates nothing: what the sentence states is what the claim denies ("... do not offer the
    best value" against "they offer some of the best value"), and only a sentence that
    negates too can state a denial."""
    return denies(claim) and negations(sentence) == 0


def _further(
    candidates: Sequence[ContextSentence],
    scores: np.ndarray,
    best: int,
    more: int,
    outlets: Sequence[str],
) -> list[int]:
    """The best sentence of each of `more` further articles: first of each named outlet not
    read yet, then in order of support."""
    order = [int(i) for i in np.argsort(-scores, kind="stable")]
    firsts: dict[str | None, int] = {}  # each outlet's best sentence
    for i in order:
        firsts.setdefault(candidates[i].source, i)
    named = [firsts[o] for o in outlets if o in firsts and o != candidates[best].source]
    read = {candidates[best].article_id}
    out: list[int] = []
    for i in named + order:
        if len(out) >= more:
            break
        if candidates[i].article_id not in read:
            read.add(candidates[i].article_id)
            out.append(i)
    return out


def verdict(reading: Reading, findings: Sequence[Finding]) -> str | None:
    """ "Yes", "No", or None when a part's evidence is missing or the dates cannot tell."""
    if not findings or any(f.status == MISSING for f in findings):
        return None
    if any(f.status != SUPPORTED for f in findings):  # not supported, or contradicted
        return "No"
    if reading.relation is not None and len(findings) == 2:  # "before" or "after"
        first, second = (f.sentence.published_at if f.sentence else None for f in findings)
        if first is None or second is None or first == second:
            return None
        earlier = first < second
        return "Yes" if earlier == (reading.relation == "before") else "No"
    return "Yes"


def _read(finding: Finding, supporting: bool = False) -> list[ContextSentence]:
    """The sentences a finding cites: its own, then those beside it (`supporting`: only those
    that support the part's claim)."""
    if finding.sentence is None:
        return []
    return [finding.sentence, *(b for b, ok in finding.beside if ok or not supporting)]


def attribution(item: ContextSentence) -> str:
    date = (iso_date(item.published_at) or "")[:10] or "date unknown"
    return f"{item.source or 'outlet unknown'} ({date})"


def candidates_of(hits: Sequence[Hit]) -> list[ContextSentence]:
    seen: set[str] = set()
    out = []
    for hit in hits:
        for sentence in hit.sentences:
            if sentence.id in seen or is_heading(sentence.text):
                continue
            seen.add(sentence.id)
            out.append(
                ContextSentence(
                    0,
                    sentence,
                    hit.article_id,
                    hit.title,
                    hit.source,
                    hit.url,
                    hit.published_at,
                    0.0,
                    updated_at=hit.updated_at,
                )
            )
    return out


def shown_part(finding: Finding, marks: list[int]) -> dict[str, Any]:
    """A part as the answer shows it: the outlet, what is asked of it, and what it says."""
    source = " / ".join(finding.part.outlets) or None
    item = finding.sentence
    if finding.status == MISSING or item is None:
        text = NOTHING_FROM.format(source or "any outlet")
    elif finding.status == SUPPORTED:
        text = f"{attribution(item)}: “{item.sentence.text}”"
    elif finding.status == CONTRADICTED:
        text = f"{attribution(item)} says otherwise ({finding.part.text}): “{item.sentence.text}”"
    else:
        text = (
            f"{attribution(item)} does not say so ({finding.part.text}); "
            f"the closest it comes: “{item.sentence.text}”"
        )
    for item, supports in finding.beside:
        said = f"{attribution(item)}:" if supports else f"The closest {attribution(item)} comes:"
        text += f" {said} “{item.sentence.text}”"
    return {
        "source": source,
        "asks": finding.part.text,
        "finding": text,
        "citations": marks,
        "status": finding.status,
        "score": None if finding.status == MISSING else round(finding.score, 3),
    }


def parts_found(evidence: Sequence[PartEvidence], answer: Answer) -> list[dict[str, Any]]:
    """For an answer the model wrote: each named part, with the cited sentences from its
    outlet."""
    out = []
    for e in evidence:
        cited = [c for c in answer.citations if c.source in e.part.sources]
        status = MISSING if not e.hits else SUPPORTED if cited else "not cited"
        out.append(
            {
                "source": " / ".join(e.part.outlets) or None,
                "asks": e.part.text,
                "finding": " ".join(f"“{c.text}” [{c.n}]" for c in cited) or None,
                "citations": [c.n for c in cited],
                "status": status,
                "score": None,
            }
        )
    return out


class Decider(Stage):
    """Answers a yes/no question about what named outlets report, part by part, in code."""

    def __init__(self, generator: Generator, settings: Settings, retriever: Retriever) -> None:
        super().__init__(generator, settings, retriever.embedder)
        self.retriever = retriever

    def stream(self, run: Run, reading: Reading, evidence: list[PartEvidence]) -> Iterator[Event]:
        """A yes/no question about what named outlets report: a finding per part, cited, and
        the verdict composed from them (`rag.answering.parts`). The stream opens with the
        sentences the verdict reads, one per part found, numbered as they are cited."""
        t = run.mark("retrieve_ms", run.started)
        findings: list[Finding] = []
        for part_evidence in evidence:
            part_evidence.hits = self.retriever.without_instructions(part_evidence.hits)
            findings.append(find(part_evidence, self.retriever.embedder.embed))
        numbers: dict[str, int] = {}
        citations: list[Citation] = []
        for finding in findings:
            for item in _read(finding):
                if item.sentence.id not in numbers:
                    numbers[item.sentence.id] = len(citations) + 1
                    citations.append(Citation.of(len(citations) + 1, item))
        yield "evidence", {"sentences": [asdict(c) for c in citations]}
        sentences: list[AnswerSentence] = []
        parts: list[dict[str, Any]] = []
        announced: set[int] = set()
        for finding in findings:
            marks = list(dict.fromkeys(numbers[item.sentence.id] for item in _read(finding)))
            for mark in marks:
                if mark not in announced:
                    announced.add(mark)
                    yield "citation", asdict(citations[mark - 1])
            part = shown_part(finding, marks)
            parts.append(part)
            if finding.status != MISSING:
                sentences.append(AnswerSentence(part["finding"], marks, True))
            if "ttft_ms" not in run.timings:
                run.mark("ttft_ms", run.started)  # the first verified text a reader sees
            yield "part", part
        run.mark("verify_ms", t)
        said = verdict(reading, findings)
        if said is None:
            missing = [f for f in findings if f.status == MISSING]
            text = (
                NOTHING_FROM.format(" or ".join(missing[0].part.outlets))
                if missing
                else ABSTAIN_TEXT
            )
            answer = self._abstain(run, [], sentences, text)
            answer.parts = parts
            yield "done", {"answer": answer}
            return
        deciding = [  # "Yes" rests on what supports each part; "No" on what the outlet says
            numbers[item.sentence.id]
            for f in findings
            if said == "Yes" or f.status != SUPPORTED
            for item in _read(f, supporting=said == "Yes")
        ]
        opening = AnswerSentence(f"{said}.", sorted(set(deciding)), True)
        yield "verdict", {"text": opening.text, "citations": opening.citations}
        for i, s in enumerate(sentences):
            yield (
                "sentence",
                {"index": i + 1, "text": s.text, "supported": True, "citations": s.citations},
            )
        shown = [opening, *sentences]
        text = " ".join(f"{s.text} " + "".join(f"[{n}]" for n in s.citations) for s in shown)
        run.timings["total_ms"] = round((time.perf_counter() - run.started) * 1000, 1)
        answer = Answer(
            run.question,
            run.standalone,
            text.strip(),
            shown,
            citations,
            False,
            timings=run.timings,
            model="parts",
            backend=self.generator.name,
            parts=parts,
            mode="parts",
            confidence=verdict_confidence(
                said,
                [f.score for f in findings],
                contradicted=any(f.status == CONTRADICTED for f in findings),
            ),
        )
        yield "done", {"answer": answer}
