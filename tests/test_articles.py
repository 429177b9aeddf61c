"""Reading articles: formats, ids, dates, and the named errors bad input gets."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rag.errors import (
    ArticleTooLarge,
    DuplicateArticleId,
    EmptyBody,
    InvalidArticle,
    InvalidDate,
    InvalidEncoding,
    InvalidURL,
    MalformedInput,
    MissingTitle,
)
from rag.ingestion.articles import load_articles, parse_date, read_text_file
from tests.conftest import CORPUS, SEEDS

LIMIT = 2_000_000


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    return path


def test_shared_corpus_reads_as_it_is() -> None:
    articles = load_articles([CORPUS], LIMIT)
    assert len(articles) == 326
    first = articles[0]
    assert first.id == "mhr-4e4e4fdacbba"
    assert first.source == "The Age"
    assert first.published_at == 1695705965  # 2023-09-26T05:26:05+00:00
    assert first.author == "Nell Geraets" and first.category == "entertainment"
    raw = json.loads(CORPUS.read_text(encoding="utf-8").splitlines()[0])
    assert first.body == raw["body"].strip()


def test_seed_article_has_its_metadata() -> None:
    [seed] = load_articles([SEEDS], LIMIT)
    assert seed.id == "a3768beeca3bd2e8"
    assert seed.title == "Russia Invites Zelensky to Moscow for Peace Talks, Sets Condition"
    assert seed.body.startswith("Russia has formally invited Ukrainian President")
    assert seed.body.endswith("as Western military aid to Ukraine faces delays.")


def test_ids_given_else_from_url_else_from_content(tmp_path: Path) -> None:
    rows = [
        {"id": "given-1", "title": "A", "body": "One."},
        {"title": "B", "body": "Two.", "url": "https://example.org/b"},
        {"title": "C", "body": "Three."},
    ]
    a, b, c = load_articles([write_jsonl(tmp_path / "a.jsonl", rows)], LIMIT)
    assert a.id == "given-1"
    assert b.id.startswith("u-")
    assert c.id.startswith("c-")
    # Stable: the same input gives the same ids.
    again = load_articles([tmp_path / "a.jsonl"], LIMIT)
    assert [x.id for x in again] == [a.id, b.id, c.id]


def test_text_file_with_front_matter_and_without(tmp_path: Path) -> None:
    (tmp_path / "with.md").write_text(
        "---\ntitle: Rates rise\nsource: The Ledger\npublished_at: 2024-01-05\n---\n"
        "The Fed raised rates by 0.25 points.\r\nMarkets fell.\n",
        encoding="utf-8",
    )
    (tmp_path / "plain.txt").write_text("# Storm hits coast\n\nWinds reached 120 mph.\n")
    (tmp_path / "README.md").write_text("# This folder\nNot an article.\n")
    plain, with_fm = load_articles([tmp_path], LIMIT)
    assert with_fm.title == "Rates rise" and with_fm.source == "The Ledger"
    assert with_fm.published_at == 1704412800
    assert with_fm.body == "The Fed raised rates by 0.25 points.\nMarkets fell."
    assert plain.title == "Storm hits coast" and plain.body == "Winds reached 120 mph."


@pytest.mark.parametrize(
    ("row", "error"),
    [
        ({"title": "T", "body": "  \n "}, EmptyBody),
        ({"title": "T"}, EmptyBody),
        ({"body": "Text."}, MissingTitle),
        ({"title": "", "body": "Text."}, MissingTitle),
        ({"title": "T", "body": "Text.", "published_at": "last Tuesday"}, InvalidDate),
        ({"title": "T", "body": "Text.", "published_at": True}, InvalidDate),
        ({"title": "T", "body": "Text.", "published_at": 10**20}, InvalidDate),
        ({"title": "T", "body": "Text.", "published_at": "9999-12-31T23:00:00-12:00"}, InvalidDate),
        ({"title": "T", "body": 5}, InvalidArticle),
        ({"title": "T", "body": "Text.", "source": ["a"]}, InvalidArticle),
        ({"id": "has space", "title": "T", "body": "Text."}, InvalidArticle),
        ({"title": "T", "body": "Text.", "url": "javascript:alert(1)"}, InvalidURL),
        (
            {"title": "T", "body": "Text.", "url": "JavaScript://news.example/%0aalert(1)"},
            InvalidURL,
        ),
        ({"title": "T", "body": "Text.", "url": "https:///no-host"}, InvalidURL),
    ],
)
def test_bad_article_gets_named_error_with_line(tmp_path: Path, row: dict, error: type) -> None:
    path = write_jsonl(tmp_path / "in.jsonl", [{"title": "fine", "body": "Fine."}, row])
    with pytest.raises(error) as info:
        load_articles([path], LIMIT)
    assert f"{path}:2" in info.value.message


def test_malformed_json_line_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl"
    path.write_text('{"title": "ok", "body": "Ok."}\n{"title": "broken",\n')
    with pytest.raises(MalformedInput, match=r"in\.jsonl:2"):
        load_articles([path], LIMIT)


def test_non_utf8_bytes(tmp_path: Path) -> None:
    path = tmp_path / "latin1.txt"
    path.write_bytes("Café opens\n\nThe café opened.".encode("latin-1"))
    with pytest.raises(InvalidEncoding, match="not UTF-8"):
        load_articles([path], LIMIT)


def test_twenty_megabyte_article_is_refused(tmp_path: Path) -> None:
    body = "Prices rose again this week. " * (20_000_000 // 29)
    path = write_jsonl(tmp_path / "big.jsonl", [{"title": "Huge", "body": body}])
    with pytest.raises(ArticleTooLarge, match="limit is 2,000,000"):
        load_articles([path], LIMIT)


def test_duplicate_ids_in_one_batch(tmp_path: Path) -> None:
    rows = [{"id": "x", "title": "A", "body": "One."}, {"id": "x", "title": "B", "body": "Two."}]
    with pytest.raises(DuplicateArticleId, match="'x'"):
        load_articles([write_jsonl(tmp_path / "d.jsonl", rows)], LIMIT)


def test_unknown_path_and_format(tmp_path: Path) -> None:
    with pytest.raises(MalformedInput, match="no such file"):
        load_articles([tmp_path / "missing.jsonl"], LIMIT)
    (tmp_path / "x.pdf").write_bytes(b"%PDF")
    with pytest.raises(MalformedInput, match="not a .jsonl"):
        load_articles([tmp_path / "x.pdf"], LIMIT)


def test_bad_front_matter(tmp_path: Path) -> None:
    path = tmp_path / "bad.md"
    path.write_text("---\ntitle: [unclosed\n---\nBody.\n")
    with pytest.raises(MalformedInput, match="front matter"):
        read_text_file(path, LIMIT)


@pytest.mark.parametrize(
    ("value", "epoch"),
    [
        ("2023-09-26T05:26:05+00:00", 1695705965),
        ("2023-09-26T05:26:05Z", 1695705965),
        ("2023-09-26", 1695686400),
        (1695705965, 1695705965),
        (None, None),
    ],
)
def test_dates_become_epoch_seconds(value: object, epoch: int | None) -> None:
    assert parse_date(value, "here") == epoch
