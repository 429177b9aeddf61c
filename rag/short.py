"""Short answers: the name, time or number a question asks for, read by the model and located.

The model reads the context and replies with the answer alone (a few tokens, no written
claims). The reply is then looked for in the sentences it read: the sentence that holds it,
word for word, is its citation, so the citation is right by construction, and what is shown
is the sentence's own wording of it, widened to the whole name, date or amount the sentence
writes ("Caesars" read in "Caesars Sportsbook offers ..." is shown as "Caesars Sportsbook").
A name, an outlet or a date the model read in the header of an article (its headline's
opening, outlet and date) cites that article's sentence closest to the question. A reply found
in nothing read, or that only repeats the question, is not shown as fact. With
`choose_unlocated` set, the model is asked again: the same prompt with the names (dates,
amounts) the sentences hold of the kind asked for listed after the question, its reply held to
one of them or "not stated" by a grammar (`choices`); the name it chooses is located like any
reply. It is off by default: the packaged 1.5B, made to choose, answers what the news does not
say more often than it finds a name it missed (docs/eval/README.md).

A name the model replies with can be a name it read beside the answer (the witness for the
accused, the chief executive for his company's rival). A question that describes someone or
something by several reported facts is answered by the one the articles found for it have in
common: when another name of the same kind (spaCy's entity label) is named by more of those
articles than the reply is, that name is the answer (`corroborated`). A question asking for a
person ("Who ...?") is answered with a person: a company or a country the model replies with
gives way to the person the articles name most.

A question that offers a choice between outlets ("Between the TechCrunch report and The Verge
report ..., which news source reported ...?") is answered by the articles rather than the
model's pick: the offered outlet whose articles best support what the question asks the
chosen one did (the parts' support model, `rag.parts.find`) is the answer (`_choose`).

An answer stands in more than one report: it is cited where it stands and, from each other
article read that names it (its words, or a later mention's shortening of the name), by the
sentence that holds most of the question's words (`witnesses`), a few articles at most.

The reply's probability (the product of its tokens' probabilities, where the backend reports
them) is what its confidence is calibrated from (`rag.confidence`).
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, replace

from rag.answer_types import Answer, AnswerSentence, Citation
from rag.confidence import calibrated, corroborated_confidence, too_unsure
from rag.context import ContextSentence, header_line, question_terms, relevance, render_context
from rag.generators.base import GenerationRequest
from rag.parts import SUPPORTED, PartEvidence, candidates_of, find
from rag.prompts import (
    ABSTAIN_TEXT,
    SHORT_CHOICE,
    SHORT_GRAMMAR,
    SHORT_SYSTEM,
    SHORT_USER,
    SHORT_WITHHELD,
)
from rag.question import COUNT, NAME, TIME, Part, Reading, parser
from rag.stage import Event, Run, Stage
from rag.types import Hit

_WORD = re.compile(r"\w+")
_CAPITALISED = re.compile(r"(?<!\w)[A-Z][\w’'-]{2,}")
# Words the answer may carry that the source need not: SQuAD's normalisation drops articles.
_ARTICLES = frozenset(["a", "an", "the"])
# What the model replies when the sentences do not say (rag.prompts.SHORT_SYSTEM).
NOT_STATED = "not stated"
SHORT_MAX_TOKENS = 24  # a name or a date; a reply cut here is unlikely to be located
SHORT_MODE = "short"
PERSON = "PERSON"  # spaCy's entity label for people
NO_LOGPROBS = "the backend reports no token probabilities: no confidence"
CHOICE_CAP = 40  # names a choice offers at most, the most named first; "not stated" besides
# spaCy's entity labels of the answers each kind of question asks for; a name is any other.
_AMOUNTS = frozenset(["CARDINAL", "MONEY", "QUANTITY", "PERCENT"])
_TIMES = frozenset(["DATE", "TIME"])
_NOT_NAMES = _AMOUNTS | _TIMES | {"ORDINAL"}


@dataclass(frozen=True)
class Located:
    item: ContextSentence  # the sentence cited for the answer
    text: str  # the answer as the source writes it
    start: int  # offsets of `text` in the sentence; (0, 0) where it stands in the header
    end: int


def _words(text: str) -> list[tuple[str, int, int]]:
    return [(m.group().lower(), m.start(), m.end()) for m in _WORD.finditer(text)]


def answer_words(reply: str) -> list[str]:
    words = [w for w, _, _ in _words(reply)]
    while words and words[0] in _ARTICLES:
        words = words[1:]
    return words


def says_nothing(reply: str) -> bool:
    return " ".join(answer_words(reply)) in ("", NOT_STATED, "none", "unknown")


def repeats(reply: str, question: str, choice: bool = False) -> bool:
    """The reply is what the question already says ("Russia" for "Who did Russia invite?"),
    and the question offers no choice (`choice`, `Reading.choice`: "... X or Y?", "Between X
    and Y, which ...?") it could be picking: it tells the asker nothing, so it answers
    nothing."""
    want = answer_words(reply)
    if not want or choice:
        return False
    return _find(want, question) is not None


def locate(reply: str, context: Sequence[ContextSentence]) -> Located | None:
    """Where the reply stands in what was read: a sentence holding its words in a row (the
    one closest to the question first), else the header of an article (its headline's
    opening, outlet and date), which cites that article's sentence closest to the question;
    a reply read in the outlet's name is that name whole ("Verge": "The Verge")."""
    want = answer_words(reply)
    if not want:
        return None
    ranked = sorted(context, key=lambda c: -c.relevance)
    for item in ranked:
        if found := _find(want, item.sentence.text):
            start, end = _whole_name(item.sentence.text, *found)
            return Located(item, item.sentence.text[start:end], start, end)
    for item in ranked:
        header = header_line(item.title, item.source, item.published_at)
        if found := _find(want, header):
            start, end = found
            if item.source and _find(want, item.source) is not None:
                return Located(item, item.source, 0, 0)
            return Located(item, header[start:end], 0, 0)
    return None


def _whole_name(text: str, start: int, end: int) -> tuple[int, int]:
    """The offsets of the whole name, date or amount the words at `start:end` are part of, as
    spaCy reads the sentence ("Caesars" in "Caesars Sportsbook offers ..."); the words
    themselves where they stand in none."""
    for entity in parser()(text).ents:
        words = [t for t in entity if t.tag_ != "POS"]  # not its possessive ending ("’s")
        if words and entity.start_char <= start and end <= words[-1].idx + len(words[-1]):
            return entity.start_char, words[-1].idx + len(words[-1])
    return start, end


def _find(want: list[str], text: str) -> tuple[int, int] | None:
    """The offsets of the words `want` in a row in `text`, the first place they stand."""
    words = _words(text)
    for i in range(len(words) - len(want) + 1):
        if all(words[i + j][0] == w for j, w in enumerate(want)):
            return words[i][1], words[i + len(want) - 1][2]
    return None


def probability(logprobs: Sequence[float]) -> float | None:
    """The reply's probability under the model: the product of its tokens' probabilities."""
    return math.exp(sum(logprobs)) if logprobs else None


def _key(name: str) -> str:
    """A name's last word, as later mentions shorten it ("Sam Bankman-Fried": Bankman-Fried)."""
    words = name.split()
    return words[-1].strip(".,;:!?\"'’") if words else ""


def _same_name(one: str, other: str) -> bool:
    """Two writings of one name: the same last word, a shortening ("Fed", "Federal Reserve")
    or initials ("SBF", "Sam Bankman-Fried"), either way round. A name's first word alone,
    written whole, is no shortening of it: later mentions keep the last name ("Bankman-Fried"),
    and "Sam" names Sam Altman as well as Sam Bankman-Fried."""
    if _key(one) == _key(other):
        return True
    for short, full in ((one, other), (other, one)):
        key = _key(short)
        words = [w for w in re.split(r"[\s-]+", full.strip()) if w]
        first_name = len(short.split()) == 1 and len(words) > 1 and key.lower() == words[0].lower()
        shortens = any(w.lower().startswith(key.lower()) for w in words)
        if len(key) >= 3 and not first_name and shortens:
            return True
        initials = "".join(w[:1] for w in words if w[:1].isupper())
        if key.isupper() and len(initials) >= 2 and initials in key:
            return True
    return False


def names_it(answer: str, text: str) -> bool:
    """The text names the answer: its words in a row, or, for a name of several words, a
    capitalised word that writes the same name ("Bankman-Fried", "SBF", "Fed")."""
    if _find(answer_words(answer), text) is not None:
        return True
    if len(answer.split()) < 2:
        return False
    return any(_same_name(answer, word) for word in _CAPITALISED.findall(text))


def witnesses(
    located: Located, question: str, read: Sequence[ContextSentence], limit: int | None = None
) -> list[ContextSentence]:
    """The sentence the answer was located in, then, from each other article in `read` that
    names the answer, its sentence holding the largest share of the question's content words;
    those articles in that order, `limit` articles in all (None: every one)."""
    terms = question_terms(question)
    best: dict[str, tuple[float, ContextSentence]] = {}
    for item in read:
        if item.article_id == located.item.article_id:
            continue
        if not names_it(located.text, item.sentence.text):
            continue
        score = relevance(terms, item.sentence.text)
        if item.article_id not in best or score > best[item.article_id][0]:
            best[item.article_id] = (score, item)
    ranked = sorted(best.values(), key=lambda pair: -pair[0])  # stable: reading order on ties
    others = [item for _, item in ranked]
    return [located.item, *(others if limit is None else others[: limit - 1])]


def corroborated(
    reply: str, question: str, read: Sequence[ContextSentence], person: bool = False
) -> str | None:
    """The name of the reply's kind that more of the articles in `read` name than name the
    reply, if there is one (the most named; a name the question already holds is no answer);
    for a reply spaCy reads as no name in them, a name of any kind. `person`: the question
    asks for a person; a reply neither the articles nor spaCy reading it alone take for one
    (a company, a country) is no answer to it, and the person the articles name most is.
    None: the reply stands."""
    texts: dict[str, str] = {}
    for item in read:
        texts[item.article_id] = f"{texts.get(item.article_id, '')} {item.sentence.text}"
    reply_key = _key(reply.strip())
    labels: dict[str, Counter[str]] = {}  # entity text -> how spaCy labelled its mentions
    for doc in parser().pipe(texts.values()):
        for entity in doc.ents:
            labels.setdefault(_without_article(entity.text), Counter())[entity.label_] += 1
    names = {text: counts.most_common(1)[0][0] for text, counts in labels.items()}
    mine = labels.get(reply.strip()) or sum(
        (counts for text, counts in labels.items() if _key(text) == reply_key), Counter()
    )
    # A reply the articles never show as a name (a common noun, a word of a name spaCy reads
    # otherwise) is of no known kind: a name of any kind that more articles name outnumbers it.
    label: str | None = mine.most_common(1)[0][0] if mine else None
    outranked = True
    if person:  # the kind asked for; a reply not read as a person need not be outnumbered
        label, outranked = PERSON, _read_as_person(mine, reply)
    asked = {w for w, _, _ in _words(question)}
    rivals = [
        text
        for text, lab in names.items()
        if (lab == label if label else lab not in _NOT_NAMES)
        and not _same_name(text, reply)
        and not all(w in asked for w, _, _ in _words(_key(text)))
    ]
    if not rivals:
        return None
    terms = question_terms(question)

    def standing(text: str) -> tuple[int, float]:
        """How many articles name it; between as many, how near the question its nearest
        sentence naming it is (the one the question describes)."""
        near = (relevance(terms, i.sentence.text) for i in read if names_it(text, i.sentence.text))
        return _naming(text, texts), max(near, default=0.0)

    best = max(rivals, key=lambda text: (standing(text), len(text)))
    if outranked and _naming(best, texts) <= _naming(reply.strip(), texts):
        return None
    return max((text for text in names if _key(text) == _key(best)), key=len)  # its fullest form


def _naming(name: str, texts: dict[str, str]) -> int:
    """How many of the articles name it (its words, or a shortening of a name of several)."""
    return sum(names_it(name, text) for text in texts.values())


def _without_article(name: str) -> str:
    """ "the European Commission" -> "European Commission": spaCy keeps a leading article."""
    first, _, rest = name.partition(" ")
    return rest if rest and first.lower() in _ARTICLES else name


def _read_as_person(mine: Counter[str], reply: str) -> bool:
    """The articles take the reply for a person (at least half of its mentions spaCy labels a
    person: a model that reads "OpenAI" as a person now and then does not make it one), or
    spaCy reads it alone as one."""
    return 2 * mine[PERSON] >= sum(mine.values()) > 0 or _a_person(reply)


def _a_person(name: str) -> bool:
    """spaCy reads the name alone as a person's: a full name is, where a later mention's
    surname in the articles may not be ("Bankman-Fried" is often read as a company)."""
    return any(entity.label_ == PERSON for entity in parser()(name.strip()).ents)


def choices(
    question: str,
    kind: str,
    read: Sequence[ContextSentence],
    person: bool = False,
    choice: bool = False,
) -> list[str]:
    """What a reply may be chosen from: the names (for a time, the dates; for a count, the
    amounts) spaCy reads in the sentences read, each once in its fullest writing, none the
    question already holds; those more of the articles name first, `CHOICE_CAP` at most.
    `person`: the question asks for a person, and only persons are offered; `choice`: it
    offers alternatives, which stay among the names (`repeats`)."""
    texts: dict[str, str] = {}
    for item in read:
        texts[item.article_id] = f"{texts.get(item.article_id, '')} {item.sentence.text}"
    found: list[str] = []
    for doc in parser().pipe(item.sentence.text for item in read):
        for entity in doc.ents:
            label = entity.label_
            if kind == TIME:
                fits = label in _TIMES
            elif kind == COUNT:
                fits = label in _AMOUNTS
            else:
                fits = label == PERSON if person else label not in _NOT_NAMES
            words = [t for t in entity if t.tag_ != "POS"]
            if not fits or not words:
                continue
            name = _without_article(doc.text[entity.start_char : words[-1].idx + len(words[-1])])
            if repeats(name, question, choice):
                continue
            same = next((i for i, known in enumerate(found) if _same(kind, known, name)), None)
            if same is None:
                found.append(name)
            elif len(name) > len(found[same]):
                found[same] = name
    ranked = sorted(found, key=lambda name: -_naming(name, texts))  # stable: reading order
    return ranked[:CHOICE_CAP]


def _same(kind: str, one: str, other: str) -> bool:
    """Two writings of one name; a date or an amount is the same only written the same."""
    return _same_name(one, other) if kind == NAME else one.lower() == other.lower()


def _picks(reading: Reading, located: Located) -> list[str]:
    """The outlets the question offers to choose between that the reply names."""
    return [o for o in reading.offered if names_it(located.text, o) or names_it(o, located.text)]


class ShortAnswerer(Stage):
    def stream(
        self, run: Run, context: list[ContextSentence], news: Sequence[Hit], t: float
    ) -> Iterator[Event]:
        """The answer alone, from the model, located in the sentences it read (`rag.short`)."""
        request = GenerationRequest(
            messages=[
                {"role": "system", "content": SHORT_SYSTEM},
                {
                    "role": "user",
                    "content": SHORT_USER.format(
                        context=render_context(context), question=run.standalone
                    ),
                },
            ],
            max_tokens=SHORT_MAX_TOKENS,
            timeout_s=self.settings.generator_timeout_s,
            grammar=SHORT_GRAMMAR,
            logprobs=True,
        )
        run.timings["prompt_tokens"] = sum(
            self.embedder.count_tokens([m["content"] for m in request.messages])
        )
        reply = ""
        for delta in self.generator.stream(request):
            if "first_output_ms" not in run.timings:
                run.mark("first_output_ms", run.started)
            reply += delta
        reply = reply.strip()
        t = run.mark("generate_ms", t)
        chance = probability(request.token_logprobs)
        confidence = calibrated(chance)
        naming: list[ContextSentence] = []  # the located sentence, then other articles naming it
        if says_nothing(reply):
            located, reason = None, "not_stated"
        elif repeats(reply, run.standalone, bool(run.reading and run.reading.choice)):
            located, reason = None, "repeats"
        else:
            located = locate(reply, context)
            reason = "unlocated" if located is None else "unsure"
        chosen = None
        if located is None and reason != "not_stated" and self._may_choose():
            chosen, chosen_chance = self._choose_among(run, request, context)
            if chosen is not None:
                located, reason = chosen, "unsure"
                chance, confidence = chosen_chance, calibrated(chosen_chance)
        if located is not None:
            found = candidates_of(news)
            reading = run.reading
            picks = _picks(reading, located) if reading and not chosen else []
            if reading and picks:
                located, support = self._choose(reading, run, located, picks, news)
                if support is not None:
                    chance, confidence = None, support
            elif not chosen and run.kind == NAME and self.settings.corroborate_names:
                located, chance = self._corroborate(run, request, located, chance, context, found)
            naming = witnesses(located, run.standalone, [*context, *found])
            run.timings["naming_articles"] = len(naming)
            if run.timings.get("corroborated"):
                confidence = corroborated_confidence()
        run.mark("verify_ms", t)
        run.mark("ttft_ms", run.started)  # the answer, or the abstention, is shown from here
        if located is None or too_unsure(confidence, self.settings.short_abstain_below):
            # Not stated, nothing new, stated nowhere it read, or too unsure: not shown as fact.
            run.timings[reason] = 1
            shown = [] if reason == "not_stated" else [AnswerSentence(reply, [], False)]
            text = SHORT_WITHHELD.get(reason, ABSTAIN_TEXT)
            answer = self._abstain(run, context, shown, text)
            answer.mode, answer.reply_probability = SHORT_MODE, chance
            yield "done", {"answer": answer}
            return
        cited = naming[: self.settings.short_cited_articles]
        citations = [Citation.of(n, item) for n, item in enumerate(cited, start=1)]
        for citation in citations:
            yield "citation", asdict(citation)
        marks = [c.n for c in citations]
        yield "token", {"text": located.text, "sentence": 0}
        sentence = AnswerSentence(located.text, marks, True)
        yield "sentence", {"index": 0, "text": sentence.text, "supported": True, "citations": marks}
        run.mark("total_ms", run.started)
        answer = Answer(
            run.question,
            run.standalone,
            f"{located.text} " + "".join(f"[{n}]" for n in marks),
            [sentence],
            citations,
            False,
            timings=run.timings,
            model=self.generator.model_id,
            backend=self.generator.name,
            mode=SHORT_MODE if chance is not None else f"{SHORT_MODE}, {NO_LOGPROBS}",
            reply_probability=chance,
            confidence=confidence,
        )
        yield "done", {"answer": answer}

    def _choose(
        self, reading: Reading, run: Run, located: Located, picks: list[str], news: Sequence[Hit]
    ) -> tuple[Located, float | None]:
        """Between the outlets the question offers, the one whose articles best support what
        it asks the chosen one did (`rag.parts.find` over each outlet's articles found for the
        question), cited by that sentence, in place of the reply's pick when it is another
        and supports it well enough to count as saying it; its confidence is then that support
        score (None: the model's). The answer is the outlet's name as the index holds it."""
        offered, asked = reading.offered, reading.asked
        findings = {
            outlet: find(
                PartEvidence(Part(asked, (outlet,)), [h for h in news if h.source == outlet]),
                self.embedder.embed,
            )
            for outlet in offered
        }
        best = max(offered, key=lambda outlet: findings[outlet].score)
        finding = findings[best]
        if finding.status != SUPPORTED or finding.sentence is None:
            return Located(located.item, picks[0], 0, 0), None
        if best in picks:
            return Located(finding.sentence, best, 0, 0), None
        run.timings["chosen"] = 1
        return Located(finding.sentence, best, 0, 0), finding.score

    def _may_choose(self) -> bool:
        return self.settings.choose_unlocated and getattr(self.generator, "supports_grammar", False)

    def _choose_among(
        self, run: Run, request: GenerationRequest, context: list[ContextSentence]
    ) -> tuple[Located | None, float | None]:
        """A reply that stands in nothing read, or only repeats the question, asked again: the
        same prompt (read from the cache) with the names the sentences hold of the kind asked
        for (`choices`) listed after the question, the reply held to one of them or "not
        stated" by a grammar. The choice is located where it stands; its probability is the
        model's for it. None: nothing to choose from, or the model chose "not stated"."""
        reading = run.reading
        offered = choices(
            run.standalone,
            run.kind,
            context,
            bool(reading and reading.person),
            bool(reading and reading.choice),
        )
        run.timings["choices"] = len(offered)
        if not offered:
            return None, None
        messages = [dict(m) for m in request.messages]
        messages[-1]["content"] += SHORT_CHOICE.format(options="; ".join(offered))
        options = " | ".join(json.dumps(o) for o in [*offered, NOT_STATED])
        held = replace(request, messages=messages, grammar=f"root ::= {options}", token_logprobs=[])
        picked = "".join(self.generator.stream(held)).strip()
        located = None if says_nothing(picked) else locate(picked, context)
        if located is None:
            return None, None
        run.timings["chosen_among"] = 1
        return located, probability(held.token_logprobs)

    def _corroborate(
        self,
        run: Run,
        request: GenerationRequest,
        located: Located,
        chance: float | None,
        context: list[ContextSentence],
        found: list[ContextSentence],
    ) -> tuple[Located, float | None]:
        """The name more of the articles found name, in place of the model's reply
        (`corroborated`), cited where it stands. Its probability is the model's for that
        name: the same prompt, the reply held to it by a grammar (the prompt is read from the
        cache). A backend without grammars gives it none. `found`: the sentences of the
        articles found (`rag.parts.candidates_of`)."""
        better = corroborated(
            located.text,
            run.standalone,
            [*context, *found],
            bool(run.reading and run.reading.person),
        )
        moved = better and (locate(better, context) or locate(better, found))
        if not moved:
            return located, chance
        run.timings["corroborated"] = 1
        if not getattr(self.generator, "supports_grammar", False):
            return moved, None
        forced = replace(request, grammar=f"root ::= {json.dumps(moved.text)}", token_logprobs=[])
        for _ in self.generator.stream(forced):
            pass
        return moved, probability(forced.token_logprobs)
