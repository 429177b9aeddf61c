"""What a question asks for, as the check of written claims reads it (`rag.answering.citations`): a
name ("Who ...", "Which company ..."), a time ("When ...", "In which year ..."), a count ("How
many ...") or a reason ("Why ..."), and whether it asks for a verdict ("Did X report ...?").

Read from the wording with regular expressions; `rag.reading.question` reads the same questions from
spaCy's parse for the answer's path. The two agree on most questions and differ on some (a
"What ...?" question is a name or phrase to the parse, nothing to check here), so they stay
apart until the claims check is measured on the parse's reading.
"""

from __future__ import annotations

import re
from functools import cache

from rag.reading.question import parser
from rag.text import content_stems

_WH_QUESTION = re.compile(r"(who|whom|whose|what|which|when|where|why|how)\b", re.I)
# The verbs a yes/no question opens with ("Did X report ...?").
_AUXILIARIES = "is|are|was|were|do|does|did|has|have|had|can|could|will|would|should"
_YES_NO_QUESTION = re.compile(rf"(?:[^?]*,\s*)?({_AUXILIARIES})\b", re.I)


# What a question asks for, when a claim can be seen to give it: a name ("Who ...", "Which
# company ..."), a time ("When ...", "In which year ..."), a count ("How many ...") or a reason
# ("Why ...").
_ASKS = re.compile(
    r"(?:^|[,;:]\s*)(?:(?:on|in|at|to|by|from|for|of|during)\s+)?"
    r"(who|whom|whose|when|why|how many|how much|which|what)\b\s*([\w-]*)",
    re.I,
)
_TIME_NOUNS = {"date", "day", "year", "month", "time", "week", "decade", "season"}
_NAME_NOUNS = {
    "company", "companies", "organization", "organisation", "institution", "outlet", "country",
    "city", "person", "individual", "agency", "team", "club", "firm", "publication", "platform",
    "official", "player", "brand", "nation", "state", "region", "regions", "newspaper",
}  # fmt: skip
# Words after "which" that do not name what is asked for ("Which is ...?", "Which of ...?").
_NOT_NOUNS = {*_AUXILIARIES.split("|"), "of", "one"}


def asks_for(question: str) -> str | None:
    """ "name", "time", "count" or "reason" when the question asks for one, else None (a
    yes/no question, "What is ...?")."""
    match = _ASKS.search(question.strip())
    if not match or is_yes_no_question(question):
        return None
    word, noun = match.group(1).lower(), match.group(2).lower()
    if word in ("who", "whom", "whose"):
        return "name"
    if word == "when":
        return "time"
    if word == "why":
        return "reason"
    if word in ("how many", "how much"):
        return "count"
    if noun in _TIME_NOUNS:
        return "time"
    if noun in _NAME_NOUNS or (word == "which" and noun and noun not in _NOT_NOUNS):
        return "name"
    return None


@cache
def what_is_counted(question: str) -> tuple[str, str] | None:
    """What a "How many ...?" question counts and what it asks of it, as stems: ("troop",
    "fight") for "How many Russian troops are fighting?", ("vote", "receiv") for "How many
    votes did the bill receive?"; None when it names nothing ("How much did it cost?")."""
    doc = parser()(question)
    for token in doc:
        if token.lower_ in ("many", "much") and token.head.pos_ in ("NOUN", "PROPN"):
            noun = token.head
            verb = noun.head if noun.head.pos_ in ("VERB", "AUX") else noun.sent.root
            if noun.pos_ == "PROPN" or not content_stems(noun.text):
                return None
            return stem(noun.text), stem(verb.text)
    return None


def stem(word: str) -> str:
    stems = content_stems(word)
    return min(stems) if stems else word.lower()


def is_yes_no_question(question: str) -> bool:
    """ "Did X report Y?", "After X reported Y, did Z ...?"; not "Which company, as X reported,
    has ...?"."""
    text = question.strip()
    return not _WH_QUESTION.match(text) and bool(_YES_NO_QUESTION.match(text))
