"""Relative times as publication windows: spaCy and dateparser for real, a real index and
embedder, extractive answers, over HTTP and in the library."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from rag.config import Settings
from rag.desk import Desk
from rag.reading.question import read_question

NOW = datetime(2026, 12, 2, 15, 0, tzinfo=UTC)  # a Wednesday


def day(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp())


@pytest.mark.parametrize(
    ("question", "after", "before"),
    [
        ("What did the Harbour Gazette report yesterday?", "2026-12-01", "2026-12-01T23:59:59"),
        ("Which stories this week mention the ferry strike?", "2026-11-30", "2026-12-02T15:00"),
        ("What happened at the port since Monday?", "2026-11-30", "2026-12-02T15:00"),
        ("Who resigned in the past three days?", "2026-11-29T15:00", "2026-12-02T15:00"),
        ("What did the unions say before Monday?", None, "2026-11-29T23:59:59"),
    ],
)
def test_relative_times_that_date_the_news_become_windows(
    question: str, after: str | None, before: str | None
) -> None:
    window = read_question(question, now=NOW).window
    assert window is not None and not window.latest
    assert window.after == (None if after is None else day(after))
    assert window.before == (None if before is None else day(before))


@pytest.mark.parametrize(
    "question",
    [
        "Did the CBSSports.com article reflect on last week's game?",  # what the news says
        "What was Chris Hammer's latest book about?",
        "Which company was recently reported by TechCrunch?",  # "recently" names no window
        "What did The Verge report on October 7, 2023?",  # absolute: a part's window
    ],
)
def test_times_inside_what_is_reported_name_no_window(question: str) -> None:
    assert read_question(question, now=NOW).window is None


def test_latest_asks_for_the_newest_news() -> None:
    for question in ("What is the latest on the ferry strike?", "What are the newest reports?"):
        window = read_question(question, now=NOW).window
        assert window is not None and window.latest
        assert window.after is None and window.before is None


STRIKE = [
    {
        "id": "gazette-strike-1",
        "title": "Ferry crews walk out",
        "source": "Harbour Gazette",
        "published_at": "2026-11-24T09:00:00Z",
        "body": "Ferry crews walked out on Tuesday over pay. The ferry strike halted all "
        "crossings to the islands.",
    },
    {
        "id": "gazette-strike-2",
        "title": "Ferry strike talks stall",
        "source": "Harbour Gazette",
        "published_at": "2026-11-30T09:00:00Z",
        "body": "Talks to end the ferry strike stalled on Monday. The union rejected a 3% pay "
        "offer from the ferry operator.",
    },
    {
        "id": "gazette-strike-3",
        "title": "Ferry strike ends",
        "source": "Harbour Gazette",
        "published_at": "2026-12-01T18:00:00Z",
        "body": "The ferry strike ended after the union accepted a 5% pay offer. Crossings to "
        "the islands resume on Thursday.",
    },
]


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory, embedder) -> TestClient:
    tmp: Path = tmp_path_factory.mktemp("recency")
    settings = Settings(index_dir=tmp / "indexes", generator_backend="extractive")
    desk = Desk(settings, embedder=embedder)
    path = tmp / "strike.jsonl"
    path.write_text("".join(json.dumps(a) + "\n" for a in STRIKE), encoding="utf-8")
    desk.ingest_paths([path])
    with TestClient(create_app(settings, desk)) as test_client:
        yield test_client


def ask(client: TestClient, question: str, now: str | None = NOW.isoformat()) -> dict:
    response = client.post("/v1/ask", json={"question": question, "now": now})
    assert response.status_code == 200, response.text
    return response.json()


def test_a_window_chooses_the_evidence_and_the_answer_says_which(client: TestClient) -> None:
    answer = ask(client, "What did the news report yesterday about the ferry strike?")
    assert not answer["abstained"]
    assert {c["article_id"] for c in answer["citations"]} == {"gazette-strike-3"}
    window = answer["window"]
    assert window["phrase"] == "yesterday"
    assert window["after"].startswith("2026-12-01T00:00") and window["before"].startswith(
        "2026-12-01T23:59"
    )
    assert answer["text"].endswith('Read from news published on 2026-12-01 ("yesterday").')


def test_the_same_words_read_against_another_now_choose_other_news(client: TestClient) -> None:
    answer = ask(client, "What did the news report yesterday about the ferry strike?", "2026-11-25")
    assert {c["article_id"] for c in answer["citations"]} == {"gazette-strike-1"}


def test_latest_cites_the_newest_relevant_article(client: TestClient) -> None:
    answer = ask(client, "What is the latest on the ferry strike?")
    assert not answer["abstained"] and answer["window"]["latest"] is True
    assert {c["article_id"] for c in answer["citations"]} == {"gazette-strike-3"}


def test_a_window_with_no_news_abstains_and_names_the_window(client: TestClient) -> None:
    answer = ask(client, "What did the news report yesterday about the ferry strike?", "2026-06-01")
    assert answer["abstained"] and answer["citations"] == []
    assert '("yesterday")' in answer["text"] and "2026-05-31" in answer["text"]


def test_a_malformed_now_is_refused(client: TestClient) -> None:
    response = client.post("/v1/ask", json={"question": "What is the latest?", "now": "soon"})
    assert response.status_code == 422
