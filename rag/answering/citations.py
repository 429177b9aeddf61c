"""Check every claim of a model's written answer in code (`rag.answering.claim_stream` reads them).

A claim is shown as a cited fact only if its cited context sentences support it:
  * every citation names a sentence that was in the context (others are discarded);
  * every number and every name in the claim appears in the cited evidence (a sentence plus
    its article's headline, outlet and date);
  * enough of the claim's content words appear in the evidence; and
  * the claim is close to the evidence in embedding space.
A claim that answers the question in place - a short answer ("Yes.", "Galuzin", "The Verge"),
a sentence made mostly of the question's words ("Google is the company that ...") or a verdict
that restates a yes/no question ("Yes, both articles suggest ...") - is
checked together with the question: what it adds (a name, a number, other words) must be in
its cited sentences, and what it repeats from the question must be in the retrieved news.
A claim that fails is re-cited to the context sentence that does support it, if one does, and
is otherwise marked unsupported (the answer pipeline drops it).
A verdict ("Yes, ...") must cite sentences that hold enough of its question, and no sentence
of the context may state the question the other way round.
Last, the supported claims together must give what the question asks for (`rag.reading.question`),
where that can be seen in the words: a name not in the question for "Who ...?" or "Which company
...?", a time for "When ...?", a count of what was asked about for "How many ...?", a reason
for "Why ...?". A true sentence beside the point is not an answer. A claim that states a yes/no
question without a verdict implies one (`implied_verdict`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from rag.answering.claim_stream import Claim, normal
from rag.answering.context import ContextSentence
from rag.reading.english import (
    ARTICLES,
    VERDICTS,
    dates_an_event,
    gives_reason,
    is_count_word,
    is_year,
    negations,
    opening_verdict,
    parser,
    stem,
    times,
    what_is_counted,
)
from rag.reading.question import COUNT, NAME, REASON, TIME, Reading, read_question
from rag.text import content_stems, names, numbers, words
from rag.types import Hit, iso_date

MIN_COVERAGE = 0.5  # share of a claim's content stems found in its evidence
MIN_COVERAGE_SHORT = 0.25  # for a claim answering in place, read with its question
MIN_SIMILARITY = 0.3  # cosine similarity of claim and evidence (all-MiniLM-L6-v2)
SHORT_WORDS = 6
RESTATES = 0.5  # a claim with this share of its content words from the question answers it
MIN_VERDICT_COVERAGE = 0.35  # share of a yes/no question's words a verdict's citations hold
COVERS_QUESTION = 0.6  # a claim holding this share of a yes/no question's words answers it
# Words a claim answering in place uses for the articles themselves ("both articles", "the two
# reports"): they say where the news is, not what it says, so no sentence needs to hold them.
SOURCE_WORDS = content_stems(
    "article articles report reports story stories piece pieces "
    "outlet outlets source sources two both"
)

Embed = Callable[[Sequence[str]], list[list[float]]]


@dataclass
class CheckedClaim:
    text: str
    cites: list[int]  # context sentence numbers, after re-citing
    supported: bool
    recited: bool = False
    reasons: list[str] = field(default_factory=list)


# --- checking --------------------------------------------------------------------------------


def evidence_text(item: ContextSentence) -> str:
    """A sentence with what the model saw about its article (its date also as "October 2,
    2023", so a claim's day and month can be found in it)."""
    date = iso_date(item.published_at) or ""
    return f"{item.sentence.text} {item.title} {item.source or ''} {date[:10]} {_spelled(date)}"


def hit_text(hit: Hit) -> str:
    return " ".join([hit.title, hit.source or "", *(s.text for s in hit.sentences)])


def _spelled(date: str) -> str:
    if not date:
        return ""
    day = datetime.fromisoformat(date)
    return f"{day:%B} {day.day}, {day.year}"


def is_short(claim: str) -> bool:
    return len(words(claim)) <= SHORT_WORDS


class SupportChecker:
    def __init__(
        self,
        question: str,
        context: Sequence[ContextSentence],
        embed: Embed,
        retrieved: Sequence[Hit] = (),
        reading: Reading | None = None,
    ) -> None:
        """`retrieved`: the hits the context was chosen from. A claim that answers in place may
        repeat its question's names and numbers when any of them holds them, not only the few
        sentences that fit the context. `reading`: the question as `rag.reading.question` reads
        it (read here when None)."""
        reading = reading or read_question(question)
        self.question = question
        self._asks = reading.kind
        self._phrase = reading.phrase
        self.by_n = {c.n: c for c in context}
        self.embed = embed
        self._question_words = set(words(question)) | numbers(question)
        self._question_stems = content_stems(question)
        self._yes_no_question = reading.verdict
        self._asked_stems = self._question_stems - SOURCE_WORDS  # what the question is about
        everything = " ".join([*(evidence_text(c) for c in context), *map(hit_text, retrieved)])
        self._context_words = set(words(everything)) | numbers(everything)
        self._vectors: dict[str, list[float]] = {}
        # The verdicts context sentences give by stating the question themselves.
        self._context_verdicts = {
            c.n: said
            for c in context
            if (said := self.implied_verdict(c.sentence.text)) is not None
        }

    def check(self, claim: Claim) -> CheckedClaim:
        cites = list(dict.fromkeys(n for n in claim.cites if n in self.by_n))
        reasons = [f"cites [{n}], not in the context" for n in claim.cites if n not in self.by_n]
        if cites and normal(claim.text) in {normal(self.by_n[n].sentence.text) for n in cites}:
            return CheckedClaim(claim.text, cites, True, reasons=reasons)  # quoted verbatim
        if cites:
            problems = self._problems(claim.text, cites)
            if not problems:
                return CheckedClaim(claim.text, cites, True, reasons=reasons)
            reasons += problems
        else:
            reasons.append("cites nothing in the context")
        better = self._recite(claim.text, cites)
        if better is not None:
            return CheckedClaim(claim.text, better, True, recited=True, reasons=reasons)
        return CheckedClaim(claim.text, cites, False, reasons=reasons)

    def gives_answer(self, claims: Sequence[str]) -> bool:
        """Whether the claims give what the question asks for (a name, a time, a count, a
        reason; for "What ...?" a name or other words) beyond what the question itself says;
        true for questions that ask for something else. "The annexation is widely condemned
        as illegal." does not answer "In which year was Crimea annexed?", however well its
        citation supports it."""
        kind = self._asks
        if kind not in (NAME, TIME, COUNT, REASON):
            return True
        asked = self.question.lower()
        for claim in claims:
            if kind == NAME:
                given = names(claim) | _capitalised(claim)
                if given - self._question_words:
                    return True
                if self._phrase and content_stems(claim) - self._question_stems:
                    return True  # "What type of establishments ...?" "Sportsbooks ..."
            elif kind == REASON:
                if gives_reason(claim):
                    return True
            elif kind == TIME:
                if any(t not in asked for t in times(claim)):
                    return True
            elif self._gives_count(claim):
                return True
        return False

    def _gives_count(self, claim: str) -> bool:
        """A number or count word the question does not hold; in a sentence, one that counts
        what was asked about, or what the question asks happened to it: "four Ukrainian
        regions" answers "How many Ukrainian regions ...?", not "How many Russian troops
        ...?"; "Twelve miners were killed" answers "How many people were killed ...?"."""
        tokens = words(claim)
        counts = [
            w for w in tokens if (is_count_word(w) or numbers(w)) and w not in self._question_words
        ]
        counted = what_is_counted(self.question)
        if not counts or counted is None or is_short(claim):
            return bool(counts)
        for token in parser()(claim):
            if not set(words(token.text)) & set(counts):
                continue
            noun = token.head
            verb = noun.head if noun.dep_ != "ROOT" else noun
            if {stem(noun.text), stem(verb.text)} & set(counted):
                return True
        return False

    def implied_verdict(self, claim: str) -> str | None:
        """The "Yes" or "No" a claim gives a yes/no question without saying it: a claim that
        states most of what the question asks ("The Ukrainian government has not yet responded
        to this latest statement." for "Has the Ukrainian government responded to Russia's
        latest statement?") says "No" when one of the two negates it and "Yes" when neither or
        both do. None when the question is not yes/no, or the claim has a verdict of its own,
        is a short answer, or says too little of the question."""
        if not self._yes_no_question or opening_verdict(claim) or is_short(claim):
            return None
        asked = self._asked_stems
        if not asked or len(asked & content_stems(claim)) / len(asked) < COVERS_QUESTION:
            return None
        turned = negations(self.question) + negations(claim)
        return "No" if turned % 2 else "Yes"

    def supported_verdict(self, claim: str, cites: Sequence[int]) -> str | None:
        """The verdict a supported claim implies (`implied_verdict`), when it would pass the
        check a model's own verdict citing the same sentences must pass: they hold enough of
        the question, and no context sentence states the question the other way round."""
        said = self.implied_verdict(claim)
        if said is None:
            return None
        evidence = content_stems(" ".join(evidence_text(self.by_n[n]) for n in cites))
        return None if self._verdict_problems(said, evidence) else said

    def answers_in_place(self, claim: str) -> bool:
        """A short answer, or a claim made mostly of the words of the question it answers.
        For a yes/no question that is a verdict ("Yes, X suggests Y", read like a bare "Yes");
        restating it without one ("X suggests Y") asserts its premise, so such a claim is
        checked as a claim of its own."""
        if is_short(claim):
            return True
        if self._yes_no_question:
            verdict = opening_verdict(claim)
            if not verdict:
                return False
            claim = claim[verdict.end() :]
        stems = content_stems(claim)
        return bool(stems) and len(stems & self._question_stems) / len(stems) >= RESTATES

    def _subject(self, claim: str) -> str:
        return f"{self.question} {claim}" if self.answers_in_place(claim) else claim

    def _lexical_problems(self, claim: str, cites: Sequence[int]) -> list[str]:
        evidence = " ".join(evidence_text(self.by_n[n]) for n in cites)
        evidence_words = set(words(evidence))
        in_place = self.answers_in_place(claim)
        problems = []
        missing_numbers = self._unsupported(numbers(claim) - numbers(evidence), in_place)
        if missing_numbers:
            problems.append(f"numbers not in the evidence: {sorted(missing_numbers)}")
        if clash := self._dateline_years(claim, cites, evidence):
            problems.append(clash)
        claim_names = names(claim) | (_capitalised(claim) if is_short(claim) else set())
        lowered = evidence.lower()
        missing_names = self._unsupported(
            {n for n in claim_names if n not in evidence_words and n not in lowered}, in_place
        )
        if missing_names:
            problems.append(f"names not in the evidence: {sorted(missing_names)}")
        evidence_stems = content_stems(evidence)
        subject = content_stems(self._subject(claim)) - (SOURCE_WORDS if in_place else set())
        if subject:
            coverage = len(subject & evidence_stems) / len(subject)
            floor = MIN_COVERAGE_SHORT if in_place else MIN_COVERAGE
            if coverage < floor:
                problems.append(f"content-word coverage {coverage:.2f} < {floor}")
        if self._yes_no_question and (verdict := opening_verdict(claim)):
            problems += self._verdict_problems(verdict.group(1), evidence_stems)
        added = content_stems(claim) - self._question_stems - SOURCE_WORDS
        if in_place and added:
            coverage = len(added & evidence_stems) / len(added)
            if coverage < MIN_COVERAGE:
                problems.append(f"coverage of what the claim adds {coverage:.2f} < {MIN_COVERAGE}")
        return problems

    def _verdict_problems(self, verdict: str, evidence_stems: set[str]) -> list[str]:
        """A verdict answers the whole question, whatever follows it ("Yes, <a true sentence
        about something else>"): what it cites must hold enough of the question, and no
        context sentence, cited or not, may state the question the other way round ("Ukraine
        will not negotiate ..." against "Yes" to "Will Ukraine negotiate ...?")."""
        problems = []
        asked = self._asked_stems
        held = len(asked & evidence_stems) / len(asked) if asked else 1.0
        if held < MIN_VERDICT_COVERAGE:
            problems.append(
                f"the cited sentences hold {held:.2f} of the question the verdict answers "
                f"< {MIN_VERDICT_COVERAGE}"
            )
        for n, said in self._context_verdicts.items():
            if said.lower() != verdict.lower():
                problems.append(f"[{n}] says {said!r} to the question, not {verdict!r}")
        return problems

    def _unsupported(self, missing: set[str], in_place: bool) -> set[str]:
        """Of the words missing from the cited evidence, those that count against the claim.
        A claim answering in place may repeat the question's names and numbers when the
        retrieved news holds them; what it adds must be in the sentences it cites."""
        if not in_place:
            return missing
        return {w for w in missing if w not in self._question_words or w not in self._context_words}

    def _dateline_years(self, claim: str, cites: Sequence[int], evidence: str) -> str | None:
        """A year found only in the article's date supports a claim when it dates the report
        ("TechCrunch reported on October 31, 2023") or a time the cited sentences give ("on
        Friday", "on Jan. 5") - not when they name a year of their own ("annexed in 2022" in
        an article dated 2023) or give no time at all ("Russia claims to have annexed four
        regions" does not say it happened in the year it was reported)."""
        sentences = " ".join(self.by_n[n].sentence.text for n in cites)
        said = numbers(sentences)
        said_years = {n for n in said if is_year(n)}
        dateline_only = {n for n in numbers(claim) - said if is_year(n)} & numbers(evidence)
        if not dateline_only:
            return None
        if said_years:
            return (
                f"year {sorted(dateline_only)} is only the article's date; "
                f"the cited sentences say {sorted(said_years)}"
            )
        reports = any(
            (spelled := _spelled(iso_date(self.by_n[n].published_at) or ""))
            and spelled.split(",")[0].lower() in claim.lower()
            for n in cites
        )
        if not reports and not dates_an_event(sentences):
            return (
                f"year {sorted(dateline_only)} is only the article's date, and the cited "
                "sentences give no time it could date"
            )
        return None

    def _problems(self, claim: str, cites: Sequence[int]) -> list[str]:
        problems = self._lexical_problems(claim, cites)
        if problems:
            return problems
        similarity = self._similarity(claim, cites)
        if similarity < MIN_SIMILARITY:
            return [f"similarity {similarity:.2f} < {MIN_SIMILARITY}"]
        return []

    def _similarity(self, claim: str, cites: Sequence[int]) -> float:
        subject = self._subject(claim)
        evidence = " ".join(self.by_n[n].sentence.text for n in cites)
        missing = [t for t in (subject, evidence) if t not in self._vectors]
        if missing:
            self._vectors.update(zip(missing, self.embed(missing), strict=True))
        a, b = self._vectors[subject], self._vectors[evidence]
        return sum(x * y for x, y in zip(a, b, strict=True))  # unit vectors

    def _recite(self, claim: str, cites: Sequence[int]) -> list[int] | None:
        """The smallest set of context sentences that supports the claim, if any does."""
        options = [[n] for n in self.by_n]
        options += [list(dict.fromkeys([*cites, n])) for n in self.by_n if n not in cites]
        passing = [o for o in options if not self._lexical_problems(claim, o)]
        passing.sort(key=lambda o: (len(o), -self._coverage(claim, o)))
        for option in passing[:4]:
            if self._similarity(claim, option) >= MIN_SIMILARITY:
                return option
        return None

    def _coverage(self, claim: str, cites: Sequence[int]) -> float:
        subject = content_stems(self._subject(claim))
        evidence = content_stems(" ".join(evidence_text(self.by_n[n]) for n in cites))
        return len(subject & evidence) / len(subject) if subject else 0.0


def _capitalised(text: str) -> set[str]:
    found = {w for token in re.findall(r"\b[A-Z][\w’'-]*", text) for w in words(token)}
    return found - ARTICLES - set(VERDICTS)  # what opens a sentence or a verdict
