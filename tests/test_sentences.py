"""Tests of `rag.ingestion.sentences`: exact offsets for every splitter, and the default on hard
cases.

The splitters are the real libraries (pysbd, blingfire, nupunkt); nothing is mocked. The central
invariant is `body[start:end] == text` for every sentence, with sentences in order, trimmed,
non-empty, and covering every non-white-space character of the body.
"""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

import pytest

from rag.ingestion.sentences import DEFAULT_SPLITTER, SPLITTERS, sentence_spans, split_sentences

ALL_SPLITTERS = sorted(SPLITTERS)
LABELLED = Path(__file__).resolve().parent.parent / "bench" / "data" / "news_sentences.jsonl"

# A few lines of the seed article ../shared/seeds/000_a3768beeca3bd2e8.txt, copied verbatim.
SEED_EXCERPT = (
    "Russia Invites Zelensky to Moscow for Peace Talks, Sets Condition\n"
    "Russia has formally invited Ukrainian President Volodymyr Zelensky to Moscow for peace talks,"
    " a senior official announced on Friday. The offer comes with a major precondition: Ukraine"
    " must accept Russia’s claimed annexation of four Ukrainian regions.\n"
    "Key Takeaways\n"
    "- Russia invites Zelensky to Moscow for talks, but demands Ukraine accept annexed"
    " territories.\n"
    "- Ukraine’s consistent position is no talks while Putin is president and demands full Russian"
    " withdrawal.\n"
    "- The offer comes amid ongoing Russian offensives in eastern Ukraine.\n"
    "The Russian Precondition\n"
    "Deputy Foreign Minister Mikhail Galuzin stated Moscow is ready for dialogue, but only if Kyiv"
    " recognizes the “new territorial realities.” This refers to the four regions—Donetsk, Luhansk,"
    " Kherson, and Zaporizhzhia—which Russia claims to have annexed in 2022. The annexation is"
    " widely condemned as illegal.\n"
    "\n\n\n"
)

SEED_EXPECTED = [
    "Russia Invites Zelensky to Moscow for Peace Talks, Sets Condition",
    "Russia has formally invited Ukrainian President Volodymyr Zelensky to Moscow for peace talks,"
    " a senior official announced on Friday.",
    "The offer comes with a major precondition: Ukraine must accept Russia’s claimed annexation of"
    " four Ukrainian regions.",
    "Key Takeaways",
    "Russia invites Zelensky to Moscow for talks, but demands Ukraine accept annexed territories.",
    "Ukraine’s consistent position is no talks while Putin is president and demands full Russian"
    " withdrawal.",
    "The offer comes amid ongoing Russian offensives in eastern Ukraine.",
    "The Russian Precondition",
    "Deputy Foreign Minister Mikhail Galuzin stated Moscow is ready for dialogue, but only if Kyiv"
    " recognizes the “new territorial realities.”",
    "This refers to the four regions—Donetsk, Luhansk, Kherson, and Zaporizhzhia—which Russia"
    " claims to have annexed in 2022.",
    "The annexation is widely condemned as illegal.",
]

TRICKY_NEWS = [
    "WASHINGTON (AP) — The U.S. economy grew 3.5% in the third quarter, Mr. Smith said. "
    "Sen. Jones disagreed.",
    "“We will win,” she said. “Will we?” he asked.  Then he left…",
    "J.K. Rowling met George W. Bush on Jan. 5 at 5 p.m. ET. They talked.\n\n"
    "Shares of Apple Inc. rose. iPhone sales fell... The end.",
    "Visit https://example.com/a.b for more. Email foo.bar@example.org. Done.",
    "  Leading spaces. Trailing spaces.   \n\t Tabbed line.\t\n",
    "‘Nice!’ she said. Then ‘Great!’ Everyone left. (An aside.) 2024 was a year.",
    "Prices\u00a0rose. Then\u00a0they   fell.\tAnalysts shrugged.",
]

UNICODE_NEWS = (
    "“Café owners are thrilled,” said Zoë Ångström — the 🎉 came out early. "
    "Prices rose 4.2% 📈 in Zürich. "
    "The 👩‍👩‍👧 family and the 🇺🇦 flag drew cheers; naïve, perhaps, but joyful."
)


# --------------------------------------------------------------------------- helpers


def assert_exact_offsets(body: str, splitter: str) -> list[str]:
    """Check every invariant of `split_sentences` on `body` and return the sentence texts."""
    sentences = split_sentences("art", body, splitter)
    previous_end = 0
    covered = [False] * len(body)
    for index, s in enumerate(sentences):
        assert s.id == f"art#{index}" and s.index == index
        assert body[s.char_start : s.char_end] == s.text
        assert s.text and s.text == s.text.strip(), repr(s.text)
        assert s.char_start >= previous_end, "sentences overlap or are out of order"
        previous_end = s.char_end
        covered[s.char_start : s.char_end] = [True] * len(s.text)
    # Only white space and list markers at the start of a line may lie outside sentences.
    for line in re.finditer(r"[^\n]+", body):
        marker = re.match(r"[ \t]*(?:[-*•–]|\d{1,2}[.)])[ \t]+", line.group())
        if marker:
            covered[line.start() : line.start() + marker.end()] = [True] * marker.end()
    lost = [c for c, inside in zip(body, covered, strict=True) if not inside and not c.isspace()]
    assert not lost, f"text outside every sentence: {''.join(lost)!r}"
    assert sentence_spans(body, splitter) == [(s.char_start, s.char_end) for s in sentences]
    return [s.text for s in sentences]


def read_labelled() -> list[dict]:
    with LABELLED.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


# --------------------------------------------------------------------------- offsets


@pytest.mark.parametrize("splitter", ALL_SPLITTERS)
def test_offsets_on_seed_article(splitter: str) -> None:
    assert assert_exact_offsets(SEED_EXCERPT, splitter) == SEED_EXPECTED


@pytest.mark.parametrize("splitter", ALL_SPLITTERS)
@pytest.mark.parametrize("body", TRICKY_NEWS)
def test_offsets_on_tricky_news(splitter: str, body: str) -> None:
    assert_exact_offsets(body, splitter)


@pytest.mark.parametrize("splitter", ALL_SPLITTERS)
def test_unicode_keeps_exact_offsets(splitter: str) -> None:
    texts = assert_exact_offsets(UNICODE_NEWS, splitter)
    assert "".join(texts).replace(" ", "") == UNICODE_NEWS.replace(" ", "")
    sentences = split_sentences("art", UNICODE_NEWS, splitter)
    emoji = UNICODE_NEWS.index("🇺🇦")
    assert any(s.char_start < emoji < s.char_end for s in sentences)


@pytest.mark.parametrize("splitter", ALL_SPLITTERS)
@pytest.mark.parametrize("body", ["", " ", "\n", "\n\n\n", " \t \n  \n\t"])
def test_empty_and_blank_bodies_give_nothing(splitter: str, body: str) -> None:
    assert sentence_spans(body, splitter) == []
    assert split_sentences("art", body, splitter) == []


@pytest.mark.parametrize("splitter", ALL_SPLITTERS)
def test_headlines_and_bullets_stay_separate(splitter: str) -> None:
    body = (
        "Storm Knocks Out Power to Thousands\n"
        "What we know\n"
        "• Three people were injured\n"
        "- The road remains closed\n"
        "Police are investigating the cause. Crews expect to restore service by Friday."
    )
    texts = assert_exact_offsets(body, splitter)
    assert texts[:4] == [
        "Storm Knocks Out Power to Thousands",
        "What we know",
        "Three people were injured",
        "The road remains closed",
    ]


@pytest.mark.parametrize("splitter", ALL_SPLITTERS)
def test_no_text_lost_when_a_detector_drops_characters(splitter: str) -> None:
    # pysbd silently drops a sentence holding one of its placeholder characters ("♬", "☝");
    # blingfire drops zero-width characters. The text must still be in some sentence.
    body = "The band played ♬ all night. Fans sang along. ☝Look up.\u200b Then leave."
    assert_exact_offsets(body, splitter)


# --------------------------------------------------------------------------- the default splitter

HARD_CASES = {
    "U.S.": (
        "The U.S. trade deficit narrowed in March. Exports of soybeans rose sharply.",
        ["The U.S. trade deficit narrowed in March.", "Exports of soybeans rose sharply."],
    ),
    "Jan. 5": (
        "The hearing is scheduled for Jan. 5 in Albany. A ruling is expected soon.",
        ["The hearing is scheduled for Jan. 5 in Albany.", "A ruling is expected soon."],
    ),
    "3.5%": (
        "Inflation rose 3.5% in August. Economists had forecast 3.4%.",
        ["Inflation rose 3.5% in August.", "Economists had forecast 3.4%."],
    ),
    'straight ."': (
        'The minister said, "We will not raise taxes." Opposition lawmakers were skeptical.',
        ['The minister said, "We will not raise taxes."', "Opposition lawmakers were skeptical."],
    ),
    "curly .”": (
        "Kyiv must recognise the “new territorial realities.” The demand was rejected.",
        ["Kyiv must recognise the “new territorial realities.”", "The demand was rejected."],
    ),
    "Mr. and Dr.": (
        "Mr. Patel declined to comment. Dr. Alvarez said the results were preliminary.",
        ["Mr. Patel declined to comment.", "Dr. Alvarez said the results were preliminary."],
    ),
    "initials": (
        "J.K. Rowling met former President George W. Bush on Monday. They spoke briefly.",
        ["J.K. Rowling met former President George W. Bush on Monday.", "They spoke briefly."],
    ),
}


@pytest.mark.parametrize("case", sorted(HARD_CASES))
def test_default_splitter_handles_hard_cases(case: str) -> None:
    body, expected = HARD_CASES[case]
    assert assert_exact_offsets(body, DEFAULT_SPLITTER) == expected


def test_default_splitter_is_a_registered_splitter() -> None:
    assert DEFAULT_SPLITTER in SPLITTERS
    body = HARD_CASES["U.S."][0]
    assert sentence_spans(body) == sentence_spans(body, DEFAULT_SPLITTER)


def test_unknown_splitter_is_rejected() -> None:
    with pytest.raises(KeyError):
        sentence_spans("One. Two.", "no-such-splitter")


# --------------------------------------------------------------------------- property-style loop


@pytest.mark.parametrize("splitter", ALL_SPLITTERS)
def test_random_concatenations_of_labelled_passages(splitter: str) -> None:
    """Glue random labelled passages with random separators; the invariant must always hold,
    and passages on lines of their own must split exactly as they do alone."""
    passages = [p["text"] for p in read_labelled()]
    rng = random.Random(20240601)
    for _ in range(60):
        chosen = rng.sample(passages, rng.randint(1, 6))
        separators = [rng.choice([" ", "  ", "\n", "\n\n", " \n ", "\t"]) for _ in chosen]
        glued = "".join(p + s for p, s in zip(chosen, separators, strict=True))
        body = rng.choice(["", " ", "\n"]) + glued
        assert_exact_offsets(body, splitter)

        on_own_lines = "\n\n".join(chosen)
        expected = [text for p in chosen for text in assert_exact_offsets(p, splitter)]
        assert assert_exact_offsets(on_own_lines, splitter) == expected
