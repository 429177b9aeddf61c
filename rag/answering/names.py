"""Names in the sentences read: where a reply stands, which writings are one name, which
articles name it, and which name they share.

A reply is looked for in the sentences the model read (`locate`): the sentence that holds it,
word for word, is its citation, and what is shown is the sentence's own wording of it, widened
to the whole name, date or amount the sentence writes ("Caesars" read in "Caesars Sportsbook
offers ..." is shown as "Caesars Sportsbook"). A name, an outlet or a date read in the header
of an article (its headline's opening, outlet and date) cites that article's sentence closest
to the question. A reply that only repeats the question tells nothing (`repeats`).

A name the model replies with can be a name it read beside the answer (the witness for the
accused, the chief executive for his company's rival). A question that describes someone or
something by several reported facts is answered by the one the articles found for it have in
common: when another name of the same kind (spaCy's entity label) is named by more of those
articles than the reply is, that name is the answer (`corroborated`). A question asking for a
person ("Who ...?") is answered with a person: a company or a country the model replies with
gives way to the person the articles name most.

An answer stands in more than one report: it is cited where it stands and, from each other
article read that names it (its words, or a later mention's shortening of the name), by the
sentence that holds most of the question's words (`witnesses`), a few articles at most. The
names a reply may be chosen among, where it is asked again as a choice, are `choices`.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from rag.answering.context import ContextSentence, header_line, question_terms, relevance
from rag.reading.english import ARTICLES, parser
from rag.reading.question import COUNT, NAME, TIME

_WORD = re.compile(r"\w+")
_CAPITALISED = re.compile(r"(?<!\w)[A-Z][\w’'-]{2,}")
# What the model replies when the sentences do not say (rag.answering.prompts.SHORT_SYSTEM).
NOT_STATED = "not stated"
PERSON = "PERSON"  # spaCy's entity label for people
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
    while words and words[0] in ARTICLES:
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
    if outranked and standing(best)[1] < standing(reply.strip())[1]:
        return None  # named more often, but nowhere as near what the question describes
    return best


def fullest(name: str, read: Sequence[ContextSentence]) -> str | None:
    """The name as the articles read write it whole, where `name` is a later mention's
    shortening of it: news names someone or something in full first and shortens it after
    ("Altman", "the Fed", "SBF"), and the answer is shown as the first mention writes it ("Sam
    Altman", "Federal Reserve", "Sam Bankman-Fried"): a name of several words, one a word's
    opening shortens of a kind spaCy reads the reply as. A whole word of a longer name other than
    its last is no shortening of it ("Google" of "Google Search", "OpenAI" of "OpenAI’s GPT-4":
    other things). None: `name` is written whole already, nothing read writes it
    longer, or the shortening stands for more than one name ("Kelce": Travis or Jason), of
    which the one named most often is not named more than the others."""
    name = _without_article(name.strip())  # "the Fed"
    if len(name.split()) != 1:
        return None
    counts: Counter[str] = Counter()
    labels: dict[str, set[str]] = {}  # each name read, and the kinds spaCy reads it as
    # Only a sentence holding the reply's letters can write the name it shortens (initials
    # aside): the others are not parsed.
    key = _key(name).lower()
    texts = dict.fromkeys(item.sentence.text for item in read)
    for doc in parser().pipe(t for t in texts if name.isupper() or key in t.lower()):
        for entity in doc.ents:
            words = [t for t in entity if t.tag_ != "POS"]
            if entity.label_ in _NOT_NAMES or not words:
                continue
            text = _without_article(doc.text[entity.start_char : words[-1].idx + len(words[-1])])
            labels.setdefault(text, set()).add(entity.label_)
            if len(text.split()) > 1 and _same_name(name, text) and not _leads(name, text):
                counts[text] += 1
    # A word's opening shortens a name of the same kind only, where the reply is read as a
    # name ("Israel", a place, does not shorten "Israeli Defense Forces", an organisation);
    # a surname or initials shorten it whatever spaCy takes them for.
    kinds = labels.get(name) or set()
    counts = Counter(
        {
            text: n
            for text, n in counts.items()
            if _key(text) == _key(name) or name.isupper() or not kinds or kinds & labels[text]
        }
    )
    if not counts:
        return None
    # Two writings one of which holds the other are one name ("Federal Reserve Board",
    # "Federal Reserve"); two that do not are two people or things.
    names = sorted(counts, key=lambda text: (-counts[text], -len(text)))
    best = names[0]
    rivals = [text for text in names[1:] if not _writes(text, best) and not _writes(best, text)]
    if rivals and counts[rivals[0]] >= counts[best]:
        return None
    return best


def _writes(one: str, other: str) -> bool:
    """`one` holds `other`'s words in a row ("Federal Reserve Board", "Federal Reserve")."""
    return _find(answer_words(other), one) is not None


def _leads(short: str, full: str) -> bool:
    """`short`'s words stand whole in `full` but not at its end ("Google" in "Google Search",
    "OpenAI" in "OpenAI’s GPT-4")."""
    want, words = answer_words(short), [w for w, _, _ in _words(full)]
    return any(words[i : i + len(want)] == want for i in range(len(words) - len(want)))


def _naming(name: str, texts: dict[str, str]) -> int:
    """How many of the articles name it (its words, or a shortening of a name of several)."""
    return sum(names_it(name, text) for text in texts.values())


def _without_article(name: str) -> str:
    """ "the European Commission" -> "European Commission": spaCy keeps a leading article."""
    first, _, rest = name.partition(" ")
    return rest if rest and first.lower() in ARTICLES else name


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
