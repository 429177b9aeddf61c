"""Reading a question in code with the real spaCy pipeline and dateparser."""

from __future__ import annotations

from datetime import UTC, datetime

from rag.reading.question import CHOICE, COUNT, NAME, REASON, TIME, YESNO, read_question

OUTLETS = ["The Verge", "TechCrunch", "The Independent - Life and Style", "Sporting News"]


def test_kinds() -> None:
    assert read_question("Did the Fed raise rates in January?").kind == YESNO
    assert read_question("Who is the chief executive of OpenAI?").kind == NAME
    assert read_question("Which company paid $26 billion for default search?").kind == NAME
    assert read_question("When did the strike end?").kind == TIME
    assert read_question("How many regions did Russia annex?").kind == COUNT
    assert read_question("Why did the talks fail?").kind == REASON
    # an opening phrase before the inverted auxiliary still asks for a verdict
    between = "Between the two reports, was there a change in the coverage of the strike?"
    assert read_question(between).kind == YESNO
    # ... however long the phrase, and wherever the parser attaches its nouns
    long_opening = (
        "Between the report from The Independent - Life and Style on the strike published on "
        "March 3, 2024, and the Sporting News report on the league published on May 9, 2024, "
        "was there a change in how the players were described?"
    )
    assert read_question(long_opening, OUTLETS).kind == YESNO
    after = (
        "After TechCrunch reported on March 3, 2024, about the merger, and again on May 9, "
        "2024, about the lawsuit, was the coverage of the company consistent?"
    )
    assert read_question(after, OUTLETS).kind == YESNO
    # a comma before a finite verb in a wh-question does not make it a yes/no question
    which = "Which league, according to Sporting News, runs the most popular betting pool?"
    assert read_question(which, OUTLETS).kind == NAME
    # ... nor does a list of clauses, each after a comma, that describe the one asked for
    described = (
        "Who is the individual associated with FTX that claimed an inability to manage the "
        "company due to its growth, is alleged to have permitted withdrawals from a trading "
        "account, and is accused by the prosecution of fraud, as reported by The Verge?"
    )
    assert read_question(described, OUTLETS).kind == NAME
    told = "The minister said the strike, which began in May, was over?"
    assert read_question(told).kind != YESNO
    # an opening phrase, then a wh-question: it asks for what the wh-word stands for
    choice = (
        "Between the report from TechCrunch on the merger and the Sporting News article on the "
        "strike, which news source reported on a player's injury during international duty?"
    )
    assert read_question(choice, OUTLETS).kind == NAME
    when = "According to The Verge's review of the phone, when will it go on sale?"
    assert read_question(when, OUTLETS).kind == TIME
    # ... a participle opens it as well as a preposition
    considering = (
        "Considering the TechCrunch report on the merger and The Verge review of the phone, "
        "which company, praised for its camera, is expected to cut prices?"
    )
    assert read_question(considering, OUTLETS).kind == NAME
    assert read_question("According to TechCrunch, who leads the company?", OUTLETS).kind == NAME
    # a wh-word inside the phrase that an inverted clause follows is relative: a verdict
    relative = (
        "Considering the report from TechCrunch, which covered the launch, did The Verge say "
        "the phone sold well?"
    )
    assert read_question(relative, OUTLETS).kind == YESNO


def test_a_question_asking_for_a_person_is_read_as_one() -> None:
    """ "Who" asks for a person, and so does "which N" whose N a "who" clause describes; a
    company or a place is asked for with "which" or "what"."""
    assert read_question("Who is the individual accused of fraud by the prosecution?").person
    assert read_question("Whose testimony did the jury hear on Tuesday?").person
    star = "Which pop star, who is open about her relationship, was seen at the game?"
    assert read_question(star).person
    assert not read_question("Which company paid $26 billion for default search?").person
    assert not read_question("Which club, which lost at home, sacked its manager?").person
    assert not read_question("Did the man who founded FTX testify?").person  # a verdict


def test_a_choice_between_outlets_is_read_with_what_the_chosen_one_did() -> None:
    between = (
        "Between the TechCrunch report on the merger and the Sporting News article on the "
        "strike, which news source reported on a player's injury during international duty?"
    )
    reading = read_question(between, OUTLETS)
    assert reading.offered == ("TechCrunch", "Sporting News")
    assert reading.asked == "reported on a player's injury during international duty"
    either = "Which outlet, TechCrunch or The Verge, reported that Google paid $26 billion?"
    assert read_question(either, OUTLETS).asked == "reported that Google paid $26 billion"
    # Two outlets named, no choice offered between them: the answer is no outlet.
    both = "Which company did TechCrunch and The Verge report paid $26 billion?"
    assert read_question(both, OUTLETS).offered == ()


def test_an_alternative_question_offers_its_predicates_as_the_answers() -> None:
    """ "Did the review agree or disagree ...?" asks which holds, not whether; alternatives
    that are names or details ("Apple or Google", "a quarter or a half") leave a verdict."""
    agree = (
        "After Polygon reported on October 18th that the levels collapse, did Engadget's review "
        "on October 20th agree or disagree on the change in gameplay?"
    )
    reading = read_question(agree, OUTLETS)
    assert (reading.kind, reading.alternatives) == (CHOICE, ("agree", "disagree"))
    remain = "Does the advice of both sources on the strike remain consistent or inconsistent?"
    assert read_question(remain).alternatives == ("consistent", "inconsistent")
    assert read_question("Is the stock rising or falling?").kind == CHOICE
    # two inverted clauses joined by "or" offer what each says
    clauses = "Has the port's schedule remained reliable, or has there been a change in it?"
    assert read_question(clauses).alternatives == ("reliable", "change")
    assert read_question("Did the talks succeed, or did they collapse?").kind == CHOICE
    for verdict in (
        "Did Apple or Google win the case?",
        "Was the match played in Sydney or Melbourne?",
        "Did the report list bets like a team leading at the end of a quarter or half?",
        "Did The Verge report that the phone ships in May?",
    ):
        reading = read_question(verdict, OUTLETS)
        assert (reading.kind, reading.alternatives) == (YESNO, ()), verdict


def test_parts_carry_their_own_sources_and_claims() -> None:
    reading = read_question(
        "Does the article from TechCrunch suggest that OpenAI will launch an app store, while "
        "the article from The Verge indicates that Google paid Apple for default search?",
        OUTLETS,
    )
    assert reading.kind == YESNO
    assert [p.sources for p in reading.parts] == [("TechCrunch",), ("The Verge",)]
    assert reading.parts[0].text == "OpenAI will launch an app store"
    assert reading.parts[1].text == "Google paid Apple for default search"
    assert reading.relation is None


def test_a_part_without_a_that_clause_loses_its_reporting_frame() -> None:
    reading = read_question(
        "Does the TechCrunch article report on layoffs at Starz, while the Engadget article "
        "discusses layoffs across the video game industry?",
        [*OUTLETS, "Engadget"],
    )
    assert [p.text for p in reading.parts] == [
        "layoffs at Starz",
        "layoffs across the video game industry",
    ]
    passive = read_question(
        "Was the strike at the port discussed in The Verge before the Sporting News's "
        "review of the season was published?",
        OUTLETS,
    )
    assert passive.relation == "before"
    assert passive.parts[0].text == "the strike at the port"
    assert passive.parts[1].text == "the season"  # what the review is of


def test_before_and_after_are_relations_between_parts() -> None:
    before = read_question(
        "Did TechCrunch report that Flipboard adopted ActivityPub before The Verge "
        "explained how ActivityPub works?",
        OUTLETS,
    )
    assert before.relation == "before"
    assert [p.sources for p in before.parts] == [("TechCrunch",), ("The Verge",)]
    after = read_question(
        "After The Verge explained how ActivityPub works, did TechCrunch report that "
        "Flipboard adopted it?",
        OUTLETS,
    )
    # the main clause comes first: TechCrunch's report after The Verge's
    assert after.relation == "after"
    assert after.parts[0].sources == ("TechCrunch",)


def test_sources_named_in_one_clause_are_each_asked_their_own_words() -> None:
    # the parse finds no clause of its own after "before": the outlets still divide it
    ordered = read_question(
        "Did the Sporting News report on the Lakers' win before TechCrunch mentioned "
        "Google's antitrust trial?",
        OUTLETS,
    )
    assert ordered.relation == "before"
    assert [(p.sources, p.text) for p in ordered.parts] == [
        (("Sporting News",), "the Lakers' win"),
        (("TechCrunch",), "Google's antitrust trial"),
    ]
    # sources named together, with nothing of their own, are each asked what follows them
    together = read_question(
        "Do The Verge and TechCrunch suggest that Apple will cut prices?", OUTLETS
    )
    assert [(p.sources, p.text) for p in together.parts] == [
        (("The Verge",), "Apple will cut prices"),
        (("TechCrunch",), "Apple will cut prices"),
    ]


def test_two_reports_set_side_by_side_are_two_parts_asked_the_same() -> None:
    opening = read_question(
        "Between the TechCrunch report on the port strike published on March 3, 2023, and "
        "The Verge report on the dock workers published on May 9, 2023, was there a change in "
        "how the union's demands were described?",
        OUTLETS,
    )
    assert opening.kind == YESNO
    assert [p.sources for p in opening.parts] == [("TechCrunch",), ("The Verge",)]
    march, may = (int(datetime(2023, m, d, tzinfo=UTC).timestamp()) for m, d in ((3, 3), (5, 9)))
    first, second = opening.parts
    assert first.after is not None and first.before is not None
    assert second.after is not None and second.before is not None
    assert first.after < march < first.before and second.after < may < second.before
    asked = "a change in how the union's demands were described"
    assert first.text == f"the port strike; {asked}"
    assert second.text == f"the dock workers; {asked}"
    # the phrase inside the question; the outlet named outside it reports both
    inside = read_question(
        "Has the tone of Sporting News changed between the article published on October 2, "
        "2023, about ticket prices, and the one from November 20, 2023, about travel?",
        OUTLETS,
    )
    assert [p.sources for p in inside.parts] == [("Sporting News",), ("Sporting News",)]
    assert all("published on" not in p.text and "2023" not in p.text for p in inside.parts)
    assert all(p.text.endswith("the tone changed") for p in inside.parts)


def test_a_brand_names_every_outlet_it_heads() -> None:
    reading = read_question("What did The Independent say about Taylor Swift?", OUTLETS)
    assert reading.sources == ("The Independent - Life and Style",)


def test_dates_with_a_year_give_a_window_and_others_none() -> None:
    dated = read_question(
        "Did the Sporting News report published on October 13, 2023 list PGA Tour bets?", OUTLETS
    )
    part = dated.parts[0]
    day = int(datetime(2023, 10, 13, tzinfo=UTC).timestamp())
    assert part.after is not None and part.before is not None
    assert part.after < day < part.before
    undated = read_question("Did Sporting News on October 13 list PGA Tour bets?", OUTLETS)
    assert undated.parts[0].after is None
    # "may" is a verb here, not a month
    assert read_question("Who may lead the talks in 2024?", OUTLETS).parts[0].after is None


def test_a_source_the_index_does_not_hold_is_unknown() -> None:
    reading = read_question(
        "Does the article from Bloomberg suggest that banks will cut rates?", OUTLETS
    )
    assert reading.unknown_sources == ["Bloomberg"]
    assert (
        read_question(
            "Does the article from The Verge suggest that Apple will cut prices?", OUTLETS
        ).unknown_sources
        == []
    )
    # a person quoted, or writing, in an outlet is no outlet
    assert (
        read_question(
            "Which company, according to Megan Grey in 'The Verge', is accused of fraud?", OUTLETS
        ).unknown_sources
        == []
    )
    # a name in the news is not a source
    assert (
        read_question("Did Police tell residents of Kyiv to leave?", OUTLETS).unknown_sources == []
    )
    # a name heading a piece of news is its source; a team in a game's report is not
    headed = (
        "Considering the update from a Sporting News article and the plans in a Bloomberg "
        "report, which division of the bank is growing fastest?"
    )
    assert read_question(headed, OUTLETS).unknown_sources == ["Bloomberg"]
    within = "Which feature, according to an article in The Times of Malta, sold best?"
    assert read_question(within, OUTLETS).unknown_sources == ["The Times of Malta"]
    game = (
        "Did the 'Sporting News' article about A.J. Dillon's reception for the Chiefs vs. "
        "Packers game report a dissimilar first down?"
    )
    assert read_question(game, OUTLETS).unknown_sources == []


def test_a_part_from_an_outlet_the_index_lacks_stays_a_part_of_its_own() -> None:
    reading = read_question(
        "Does the article from The Verge suggest that Apple will cut prices, while the article "
        "from Bloomberg indicates that banks will cut rates?",
        OUTLETS,
    )
    assert [(p.sources, p.unknown) for p in reading.parts] == [
        (("The Verge",), ()),
        ((), ("Bloomberg",)),
    ]
    assert reading.parts[1].text == "banks will cut rates"


def test_a_quoted_outlet_name_leaves_no_quote_marks_in_the_claim() -> None:
    reading = read_question("Did the 'Sporting News' article say that the Chiefs won?", OUTLETS)
    assert reading.parts[0].sources == ("Sporting News",)
    assert "'" not in reading.parts[0].text
