"""Recency: "yesterday", "this week", "since Monday", "latest" as a publication window.

A relative time (anchored to the moment of asking: "yesterday", "this week", "since Monday",
"the past three days") names the window the news was published in only when it dates the
asking or the reporting: attached to the question's verb ("What happened since Monday?") or to
a noun for a piece of news ("reports this week", "the latest news"). Attached to anything else
it is part of what the news says ("last week's game", "his latest book") and names no window.

Expressions are read by spaCy (DATE entities, superlatives) and resolved by dateparser against
the request's time (`now`, else the clock), in UTC: a day, week, month or year is the whole
calendar period, cut at `now`; "since X" runs from X to now, "before X" up to X, and "the past
three days" from three days before now. An absolute date ("October 7, 2023") names no
window of asking: it is what a part of the question reports on, and `date_window` turns it into
that part's window (the day, with a day's slack either side), for its evidence
(rag.reading.question).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from rag.reading.english import DEICTIC, MONTHS, NEWEST, NEWS_NOUNS, SINCE, UNTIL

BOUNDING = SINCE + UNTIL
DATE_SLACK = timedelta(days=1)  # a dated report may carry the day before or after (time zones)
_MONTH = "|".join(m[:3] for m in MONTHS)  # "jan", ... as the months open
# A day of a month, with or without its year, or an ISO date: the shapes dateparser is given.
DATE_SHAPE = re.compile(
    rf"\b(?:\d{{4}}-\d{{2}}-\d{{2}}|(?:{_MONTH})[a-z]*\.?\s+"
    rf"\d{{1,2}}(?:st|nd|rd|th)?(?:,?\s+\d{{4}})?|\d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?"
    rf"(?:{_MONTH})[a-z]*\.?(?:,?\s+\d{{4}})?)\b",
    re.I,
)
_ABSOLUTE = re.compile(rf"\d{{4}}|{DATE_SHAPE.pattern}", re.I)  # a date, or a year alone
_SPAN = re.compile(
    r"^(?:the\s+)?(?:past|last|previous)\s+(.+?\s+(?:hour|day|week|month|year)s)$", re.I
)


@dataclass(frozen=True)
class Window:
    """A publication window (epoch seconds, inclusive; None: open) and how it was named."""

    phrase: str
    after: int | None = None
    before: int | None = None
    latest: bool = False  # rank the relevant news by date, newest first

    def describe(self) -> str:
        def day(epoch: int) -> str:
            return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d")

        if self.after is not None and self.before is not None:
            first, last = day(self.after), day(self.before)
            span = (
                f"news published on {first}"
                if first == last
                else (f"news published {first} to {last}")
            )
        elif self.after is not None:
            span = f"news published since {day(self.after)}"
        elif self.before is not None:
            span = f"news published before {day(self.before)}"
        else:
            span = "the newest relevant news"
        return f'{span} ("{self.phrase}")'

    def to_json(self) -> dict[str, Any]:
        def iso(epoch: int | None) -> str | None:
            return None if epoch is None else datetime.fromtimestamp(epoch, UTC).isoformat()

        return {
            "phrase": self.phrase,
            "after": iso(self.after),
            "before": iso(self.before),
            "latest": self.latest,
            "text": self.describe(),
        }


def recency(doc: Any, now: datetime) -> Window | None:
    """The publication window a parsed question names relative to `now` (aware, any zone)."""
    now = now.astimezone(UTC)
    latest = _latest(doc)
    for ent in doc.ents:
        if ent.label_ not in ("DATE", "TIME") or _ABSOLUTE.search(ent.text):
            continue
        if not any(t.lower_ in DEICTIC for t in ent):
            continue
        if not _dates_the_news(ent.root):
            continue
        bounds = _bounds(ent, now)
        if bounds is not None:
            word = _preposition(ent)
            phrase = f"{word} {ent.text}" if word in BOUNDING else ent.text
            phrase = phrase if latest is None else f"{latest}, {phrase}"
            return Window(phrase, *bounds, latest=latest is not None)
    return Window(latest, latest=True) if latest is not None else None


def _latest(doc: Any) -> str | None:
    """ "latest"/"newest"/"most recent" dating the news itself, as the words read."""
    for token in doc:
        word = token.lower_
        if word == "recent" and any(c.lower_ == "most" for c in token.children):
            word = "most recent"
        elif word not in NEWEST:
            continue
        head = token.head
        if token.dep_ == "amod" and head.lower_ in NEWS_NOUNS:
            return word
        if token.dep_ in ("nsubj", "attr", "dobj", "pobj") and token.head.pos_ in (
            "AUX",
            "VERB",
            "ADP",
        ):
            return word  # "What is the latest on ...": the newest itself is asked for
    return None


def _dates_the_news(root: Any) -> bool:
    head = root.head
    if head.pos_ == "ADP" or head.dep_ == "prep":  # "since Monday", "in the past three days"
        head = head.head
    if root.dep_ == "poss":
        return False  # "last week's game"
    return head.pos_ in ("VERB", "AUX") or head.lower_ in NEWS_NOUNS


def _preposition(ent: Any) -> str | None:
    head = ent.root.head
    if head.i < ent.start and head.pos_ in ("ADP", "SCONJ"):
        return head.lower_
    return None


def _bounds(ent: Any, now: datetime) -> tuple[int | None, int | None] | None:
    from dateparser.date import DateDataParser

    parser = DateDataParser(
        languages=["en"],
        settings={
            "RELATIVE_BASE": now.replace(tzinfo=None),
            "PREFER_DATES_FROM": "past",
            "RETURN_AS_TIMEZONE_AWARE": False,
        },
    )
    text = ent.text
    span = _SPAN.match(text)
    end = int(now.timestamp())
    if span:  # "the past three days": from then until now
        got = parser.get_date_data(f"{span.group(1)} ago")
        if got.date_obj is None:
            return None
        return int(got.date_obj.replace(tzinfo=UTC).timestamp()), end
    got = parser.get_date_data(text)
    if got.date_obj is None:
        return None
    start = _period_start(got.date_obj.replace(tzinfo=UTC), got.period or "day")
    stop = _period_end(start, got.period or "day")
    word = _preposition(ent)
    if word in SINCE:
        return int(start.timestamp()), end
    if word in UNTIL:
        return None, int(start.timestamp()) - 1
    return int(start.timestamp()), min(int(stop.timestamp()) - 1, end)


def _period_start(moment: datetime, period: str) -> datetime:
    day = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    if period == "week":
        return day - timedelta(days=day.weekday())
    if period == "month":
        return day.replace(day=1)
    if period == "year":
        return day.replace(month=1, day=1)
    return day


def _period_end(start: datetime, period: str) -> datetime:
    if period == "week":
        return start + timedelta(days=7)
    if period == "month":
        return (start + timedelta(days=32)).replace(day=1)
    if period == "year":
        return start.replace(year=start.year + 1)
    return start + timedelta(days=1)


def date_window(text: str) -> tuple[int | None, int | None]:
    """The publication window a part names: a full date (day and year or month and year) with
    a day's slack either side. Relative words ("recent") name no window."""
    found = dates(text)
    if not found:
        return None, None
    day = found[0]
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    return int((start - DATE_SLACK).timestamp()), int((start + 2 * DATE_SLACK).timestamp())


def dates(text: str) -> list[datetime]:
    """Calendar dates with their year in the text, read by dateparser. Only spans shaped like a
    day of a month are handed to it, so words like "may" or "now" are never read as dates."""
    import dateparser

    out = []
    for match in DATE_SHAPE.finditer(text):
        parsed = dateparser.parse(
            match.group(),
            languages=["en"],
            settings={"PREFER_DAY_OF_MONTH": "first", "RETURN_AS_TIMEZONE_AWARE": False},
        )
        if parsed is not None and re.search(r"\d{4}", match.group()):
            out.append(parsed)  # a date without its year names no window
    return out
