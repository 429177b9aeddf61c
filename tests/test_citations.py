"""The support check: hand-made claims against hand-made context, with the real embedder."""

from __future__ import annotations

from dataclasses import replace

import pytest

from rag.answering.citations import SupportChecker
from rag.answering.claim_stream import Claim, parse_answer
from rag.answering.context import ContextSentence
from rag.reading.question import COUNT, NAME, REASON, TIME, YESNO, read_question
from rag.types import Hit, Sentence

SENTENCES = [
    "Russia has formally invited Ukrainian President Volodymyr Zelensky to Moscow for peace talks.",
    "Ukraine must accept Russia’s claimed annexation of four Ukrainian regions.",
    "Deputy Foreign Minister Mikhail Galuzin said Moscow is ready for dialogue.",
    "The Fed raised rates by 0.25 points, to 5.5%, on Jan. 5.",
]


def context() -> list[ContextSentence]:
    items = []
    for n, text in enumerate(SENTENCES, start=1):
        article = "seed" if n < 4 else "fed"
        items.append(
            ContextSentence(
                n=n,
                sentence=Sentence(f"{article}#{n}", n, text, 0, len(text)),
                article_id=article,
                title="Russia Invites Zelensky" if article == "seed" else "Fed moves",
                source="The Ledger" if article == "fed" else None,
                url=None,
                published_at=1704412800 if article == "fed" else None,  # 2024-01-05
                relevance=0.5,
            )
        )
    return items


@pytest.fixture(scope="module")
def check(embedder):
    def run(question: str, text: str, cites: list[int]):
        return SupportChecker(question, context(), embedder.embed).check(Claim(text, cites))

    return run


def test_paraphrase_with_right_citation_is_supported(check) -> None:
    result = check(
        "What must Ukraine accept?", "Ukraine must accept the annexation of four regions.", [2]
    )
    assert result.supported and result.cites == [2] and not result.recited


def test_number_not_in_evidence_is_not_supported(check) -> None:
    result = check("How much did the Fed raise rates?", "The Fed raised rates by 0.5 points.", [4])
    assert not result.supported
    assert any("numbers" in r for r in result.reasons)


def test_name_not_in_evidence_is_not_supported(check) -> None:
    result = check("Who spoke?", "Sergei Lavrov said Moscow is ready for dialogue.", [3])
    assert not result.supported
    assert any("lavrov" in r for r in result.reasons)


def test_wrong_citation_is_recited_to_the_supporting_sentence(check) -> None:
    result = check(
        "Who said Moscow is ready?", "Mikhail Galuzin said Moscow is ready for dialogue.", [1]
    )
    assert result.supported and result.recited and result.cites == [3]


def test_citation_outside_the_context_is_discarded(check) -> None:
    result = check("Who was invited?", "Russia invited Zelensky to Moscow for peace talks.", [9])
    assert result.supported and result.cites == [1]
    assert any("[9]" in r for r in result.reasons)


def test_unrelated_claim_is_dropped(check) -> None:
    result = check("What happened?", "The weather in Paris was sunny all week.", [1, 2])
    assert not result.supported


def test_short_answer_is_checked_with_its_question(check) -> None:
    assert check("Who is the deputy foreign minister?", "Mikhail Galuzin.", [3]).supported
    assert not check("Who is the deputy foreign minister?", "Dmitry Peskov.", [3]).supported
    assert check("Which outlet reported the rate rise?", "The Ledger", [4]).supported


def test_dates_and_outlets_come_from_the_article_header(check) -> None:
    assert check("When did the Fed act?", "The Fed raised rates in January 2024.", [4]).supported


def test_parse_json_and_fallbacks() -> None:
    parsed = parse_answer(
        '{"answerable": true, "sentences": [{"text": "A [2].", "cite": [2, "3"]}]}'
    )
    assert parsed.well_formed and parsed.claims[0].text == "A." and parsed.claims[0].cites == [2, 3]
    wrapped = parse_answer('Sure! {"answerable": false, "sentences": []} Hope that helps.')
    assert wrapped.well_formed and not wrapped.answerable
    declined = parse_answer(
        '{"sentences": [{"text": "The indexed news does not say.", "cite": []}]}'
    )
    assert declined.well_formed and not declined.answerable and not declined.claims
    assert not parse_answer("The indexed news does not say").answerable
    plain = parse_answer("Russia invited Zelensky [1]. Ukraine refused [2, 3].")
    assert not plain.well_formed
    assert [(c.text, c.cites) for c in plain.claims] == [
        ("Russia invited Zelensky.", [1]),
        ("Ukraine refused.", [2, 3]),
    ]


def test_a_year_only_in_the_dateline_does_not_override_the_sentence(embedder) -> None:
    texts = [
        "Russia claimed the annexation of four Ukrainian regions in 2022.",
        "Moscow is ready for peace talks with Kyiv, an official said on Friday.",
        "Russia claims to have annexed four Ukrainian regions.",
    ]
    items = [
        ContextSentence(
            n=n,
            sentence=Sentence(f"seed#{n}", n, text, 0, len(text)),
            article_id="seed",
            title="Russia Invites Zelensky",
            source="The Ledger",
            url=None,
            published_at=1696550400,  # 2023-10-06
            relevance=0.5,
        )
        for n, text in enumerate(texts, start=1)
    ]
    checker = SupportChecker("When did it happen?", items, embedder.embed)
    wrong = checker.check(Claim("Russia claimed the annexation of four regions in 2023.", [1]))
    assert not wrong.supported
    assert any("only the article's date" in r for r in wrong.reasons)
    # A time the sentence gives ("on Friday") is dated by its article...
    dated = checker.check(Claim("In 2023 an official said Moscow is ready for peace talks.", [2]))
    assert dated.supported
    # ...and so is the report itself; a sentence with no time of its own dates nothing.
    reported = checker.check(
        Claim("On October 6, 2023, The Ledger reported Russia claims four annexed regions.", [3])
    )
    assert reported.supported
    undated_only = SupportChecker("When did it happen?", [items[0], items[2]], embedder.embed)
    undated = undated_only.check(Claim("Russia annexed four Ukrainian regions in 2023.", [3]))
    assert not undated.supported
    assert any("give no time" in r for r in undated.reasons)


def test_a_claim_that_restates_the_question_is_checked_for_what_it_adds(check) -> None:
    question = "Which deputy minister, quoted beside the 5.5% Fed rate, said Moscow is ready?"
    # The question's own premises (the 5.5% rate) are in the retrieved news, so the answer
    # only has to cite the sentence that names the minister.
    right = check(
        question,
        "Mikhail Galuzin is the deputy minister, quoted beside the 5.5% Fed rate, who said "
        "Moscow is ready.",
        [3],
    )
    assert right.supported and right.cites == [3] and not right.recited
    # What the claim adds must be in what it cites.
    wrong = check(
        question,
        "Sergei Lavrov is the deputy minister, quoted beside the 5.5% Fed rate, who said "
        "Moscow is ready.",
        [3],
    )
    assert not wrong.supported
    assert any("lavrov" in r for r in wrong.reasons)


def test_a_restated_premise_the_news_does_not_hold_is_not_supported(check) -> None:
    question = "Which deputy minister said Moscow is ready at the Paris summit?"
    result = check(
        question, "Mikhail Galuzin is the deputy minister who said Moscow is ready at the Paris "
        "summit.", [3]
    )  # fmt: skip
    assert not result.supported
    assert any("paris" in r for r in result.reasons)


def test_a_restated_premise_may_be_in_a_retrieved_sentence_outside_the_context(embedder) -> None:
    # The context holds the few sentences that fit its budget; the hits it was chosen from
    # hold the rest of what was retrieved, and the question's premises may be there.
    question = "Which deputy minister said Moscow is ready at the Paris summit?"
    claim = Claim(
        "Mikhail Galuzin is the deputy minister who said Moscow is ready at the Paris summit.", [3]
    )
    summit = "Galuzin spoke at the Paris summit on Tuesday."
    hit = Hit("seed:0", "seed", "Russia Invites Zelensky", None, None, None, 0.5, 0.6,
              [Sentence("seed#9", 9, summit, 0, len(summit))])  # fmt: skip
    assert SupportChecker(question, context(), embedder.embed, [hit]).check(claim).supported
    # What the claim adds (the minister's name) must still be in the sentence it cites.
    lavrov = Claim(claim.text.replace("Mikhail Galuzin", "Sergei Lavrov"), [3])
    assert not SupportChecker(question, context(), embedder.embed, [hit]).check(lavrov).supported
    elsewhere = replace(hit, sentences=[Sentence("x#1", 1, "Rates rose.", 0, 11)])
    assert (
        not SupportChecker(question, context(), embedder.embed, [elsewhere]).check(claim).supported
    )


def test_restating_a_yes_no_question_must_cite_its_premise(check) -> None:
    # Restating "Did X ... while Y?" asserts Y too: the sentence that says Y must be cited.
    question = "Did Galuzin say Moscow is ready for dialogue while the Fed raised rates to 5.5%?"
    claim = "Galuzin said Moscow is ready for dialogue while the Fed raised rates to 5.5%."
    result = check(question, claim, [3])
    assert result.supported and result.recited and sorted(result.cites) == [3, 4]
    assert any("5.5%" in r for r in result.reasons)


def test_a_verdict_is_read_like_a_bare_yes(check) -> None:
    question = "Did Galuzin say Moscow is ready for dialogue while the Fed raised rates to 5.5%?"
    # "Yes, <the question restated>" adds nothing to "Yes": what it repeats must be in the
    # retrieved news, and enough of the question must be in the sentences it cites.
    claim = "Yes, Galuzin said Moscow is ready for dialogue while the Fed raised rates to 5.5%."
    assert check(question, claim, [3, 4]).supported
    # What a verdict adds must be in what it cites.
    assert not check(question, claim.replace("Galuzin", "Lavrov"), [3, 4]).supported
    # A premise no context sentence holds leaves the verdict without support.
    paris = "Did Galuzin say Moscow is ready for dialogue at the Paris summit?"
    assert not check(paris, "Yes, Galuzin said Moscow is ready at the Paris summit.", [3]).supported


def test_a_verdict_may_speak_of_the_articles_themselves(check) -> None:
    # "both articles", "the two reports" say where the news is, not what it says.
    question = "Did Galuzin say Moscow is ready for dialogue while the Fed raised rates to 5.5%?"
    claim = "Yes, both articles say Galuzin said Moscow is ready while the Fed raised rates."
    assert check(question, claim, [3, 4]).supported
    # Anything else a verdict adds still has to be in what it cites.
    assert not check(question, claim.replace("both articles", "Reuters"), [3, 4]).supported


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("Who did Russia invite to Moscow?", NAME),
        ("Considering the Ledger's report, which company raised prices?", NAME),
        ("To which city was Zelensky invited?", NAME),
        ("What condition does Russia set?", NAME),
        ("On which day of the week was the invitation announced?", TIME),
        ("In which year was Crimea annexed?", TIME),
        ("When did the Fed raise rates?", TIME),
        ("How many regions does Russia claim?", COUNT),
        ("Why did Russia invite Zelensky?", REASON),
        ("Did the Fed, which meets monthly, raise rates?", YESNO),
    ],
)
def test_what_a_question_asks_for(question: str, kind: str) -> None:
    """The claims check reads the question as the answer's path does (`rag.reading.question`):
    a time where the noun after "which" reads as one to spaCy ("that year")."""
    assert read_question(question).kind == kind


@pytest.mark.parametrize(
    ("question", "beside_the_point", "answer"),
    [
        (
            "Who said Moscow is ready for dialogue?",
            "Moscow is ready for dialogue, an official said.",
            "Mikhail Galuzin said Moscow is ready for dialogue.",
        ),
        (
            "When did the Fed raise rates?",
            "The Fed raised rates by 0.25 points.",
            "The Fed raised rates on Jan. 5.",
        ),
        (  # "March" and "may" are read as spaCy reads them: a month, and a verb
            "When did the Fed raise rates?",
            "The Fed may raise rates again, it said.",
            "The Fed raised rates in March.",
        ),
        (
            "How many Ukrainian regions must Ukraine accept as annexed?",
            "Ukraine must accept Russia's claimed annexation of Ukrainian regions.",
            "Ukraine must accept the annexation of four Ukrainian regions.",
        ),
        (  # a count of what the question asks happened, in other words
            "How many people were killed in the Dunmore mine collapse?",
            "Rescue teams worked through the night at the Dunmore coal mine.",
            "Twelve miners were killed when a tunnel collapsed on Tuesday.",
        ),
        (  # a word that counts without a numeral
            "How many people protested in Kyiv?",
            "People protested in Kyiv on Sunday.",
            "Dozens of people protested in Kyiv.",
        ),
        (  # a count of something else is no count of what was asked about
            "How many Russian troops are fighting in eastern Ukraine?",
            "Ukraine must accept Russia's claimed annexation of four Ukrainian regions.",
            "About 200,000 Russian troops are fighting in eastern Ukraine.",
        ),
        (
            "Why did Russia invite Zelensky to Moscow?",
            "Russia has formally invited Zelensky to Moscow.",
            "Russia invited Zelensky to Moscow because it wants peace talks.",
        ),
        (  # "What ...?" may be answered by a phrase, but not by the question's own words
            "What type of establishments adjust their betting lines?",
            "The establishments adjust their betting lines.",
            "The sportsbooks adjust their betting lines on news.",
        ),
        (  # "Which N ...?" asks for a name
            "Which company raised prices in January?",
            "Prices were raised in January by a large retailer.",
            "Walmart raised prices in January.",
        ),
    ],
)
def test_a_true_sentence_beside_the_point_is_not_an_answer(
    embedder, question: str, beside_the_point: str, answer: str
) -> None:
    checker = SupportChecker(question, context(), embedder.embed)
    assert not checker.gives_answer([beside_the_point])
    assert checker.gives_answer([beside_the_point, answer])
    # What the question itself names is not an answer to it.
    assert not SupportChecker("Who invited Zelensky?", context(), embedder.embed).gives_answer(
        ["Zelensky was invited to peace talks."]
    )


@pytest.mark.parametrize(
    ("question", "claim", "verdict"),
    [
        (
            "Has the Ukrainian government responded to Russia's latest statement?",
            "The Ukrainian government has not yet responded to this latest statement.",
            "No",
        ),
        (
            "Does the Ukrainian peace formula demand a withdrawal from Crimea?",
            "The Ukrainian peace formula demands the complete withdrawal of Russian troops from "
            "all Ukrainian territory, including Crimea.",
            "Yes",
        ),
        (  # negated in both: the claim says what the question asks
            "Did the report fail to name the Mayo Clinic as a leader in AI?",
            "The report does not name the Mayo Clinic as a leader in AI.",
            "Yes",
        ),
        (  # a verdict of its own is the model's to give
            "Has the Ukrainian government responded to Russia's latest statement?",
            "No, the Ukrainian government has not yet responded to this latest statement.",
            None,
        ),
        (  # too little of the question to answer it
            "Is Russia open to discussing issues other than territory?",
            "Russia invites Zelensky to Moscow, but demands Ukraine accept annexed territories.",
            None,
        ),
        (  # not a yes/no question
            "Who has not responded to Russia's latest statement?",
            "The Ukrainian government has not yet responded to this latest statement.",
            None,
        ),
    ],
)
def test_a_claim_that_states_a_yes_no_question_implies_its_verdict(
    embedder, question: str, claim: str, verdict: str | None
) -> None:
    assert SupportChecker(question, context(), embedder.embed).implied_verdict(claim) == verdict


def test_a_verdict_must_answer_the_question_its_citations_hold(embedder) -> None:
    texts = [
        "The offer comes amid ongoing Russian offensives in eastern Ukraine.",
        "Ukraine will not negotiate with Russia as long as Vladimir Putin remains president.",
    ]
    items = [
        ContextSentence(n, Sentence(f"a#{n}", n, t, 0, len(t)), "a", "Talks", None, None, None, 0.5)
        for n, t in enumerate(texts, start=1)
    ]
    question = "Will Ukraine negotiate with Russia while Vladimir Putin remains president?"
    checker = SupportChecker(question, items, embedder.embed)
    # A true sentence about something else does not make "Yes" an answer, nor does re-citing
    # it to the sentence that answers the question the other way round.
    unrelated = checker.check(
        Claim("Yes, the offer comes amid Russian offensives in Ukraine.", [1])
    )
    assert not unrelated.supported
    assert any("of the question the verdict answers" in r for r in unrelated.reasons)
    assert any("[2] says 'No'" in r for r in unrelated.reasons)  # cited or not
    contradicted = checker.check(Claim("Yes, Ukraine will negotiate with Russia.", [2]))
    assert not contradicted.supported
    assert any("[2] says 'No'" in r for r in contradicted.reasons)
    right = checker.check(Claim("No, Ukraine will not negotiate while Putin is president.", [2]))
    assert right.supported and right.cites == [2]
    # A verdict the news contests is not one a claim implies either.
    restated = "Ukraine will negotiate with Russia while Vladimir Putin remains president."
    assert checker.implied_verdict(restated) == "Yes"
    assert checker.supported_verdict(restated, [2]) is None
    assert checker.supported_verdict(texts[1], [2]) == "No"
    # Nor is one whose citations hold too little of the question.
    assert checker.implied_verdict(texts[1]) == "No"
    assert checker.supported_verdict(texts[1], [1]) is None
