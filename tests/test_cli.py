"""The `newsdesk` command, run as a user runs it: a real process, real indexes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import SEEDS, VENV_BIN

pytestmark = pytest.mark.slow


def newsdesk(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    exe = VENV_BIN / "newsdesk"
    command = [str(exe)] if exe.exists() else [sys.executable, "-m", "cli"]
    env = dict(os.environ, NEWSDESK_INDEX_DIR=str(tmp_path / "indexes"))
    return subprocess.run(
        command + list(args), capture_output=True, text=True, env=env, timeout=300
    )


def test_ingest_search_stats_delete(tmp_path: Path) -> None:
    done = newsdesk(tmp_path, "ingest", str(SEEDS), "--index", "news", "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["added"] == 1

    found = newsdesk(
        tmp_path, "search", "Who is the deputy foreign minister?", "-i", "news", "-k", "2", "--json"
    )
    assert found.returncode == 0, found.stderr
    hits = json.loads(found.stdout)
    assert 1 <= len(hits) <= 2
    assert set(hits[0]) >= {"article_id", "title", "source", "published_at", "score", "sentences"}
    sentence = next(s for h in hits for s in h["sentences"] if "Galuzin" in s["text"])
    assert set(sentence) == {"sentence_id", "text", "char_start", "char_end"}

    stats = json.loads(newsdesk(tmp_path, "index", "stats", "news").stdout)
    assert stats["articles"] == 1 and stats["embedder"] == "all-MiniLM-L6-v2"

    gone = newsdesk(tmp_path, "index", "delete", "news", "a3768beeca3bd2e8")
    assert gone.returncode == 0, gone.stderr
    assert json.loads(newsdesk(tmp_path, "index", "stats", "news").stdout)["chunks"] == 0

    # --index also takes a path.
    by_path = newsdesk(tmp_path, "index", "stats", str(tmp_path / "indexes" / "news"))
    assert json.loads(by_path.stdout)["name"] == "news"


@pytest.mark.parametrize(
    ("args", "name"),
    [
        (("search", "anything", "-i", "nope"), "UnknownIndex"),
        (("ingest", "missing.jsonl", "-i", "x"), "MalformedInput"),
        (("index", "delete", "nope", "some-id"), "UnknownIndex"),
    ],
)
def test_errors_are_one_line_and_exit_non_zero(
    tmp_path: Path, args: tuple[str, ...], name: str
) -> None:
    done = newsdesk(tmp_path, *args)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {name}: ")


def test_bad_article_leaves_nothing_behind(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_bytes(b'{"title": "ok", "body": "Fine."}\n{"title": "x", "body": "caf\xe9"}\n')
    done = newsdesk(tmp_path, "ingest", str(bad), "-i", "fresh")
    assert (
        done.returncode == 2 and "InvalidEncoding" in done.stderr and "bad.jsonl:2" in done.stderr
    )
    assert not (tmp_path / "indexes" / "fresh").exists()


def test_serve_starts_the_service_on_the_given_port_and_index(tmp_path: Path) -> None:
    import httpx

    from bench.servers import free_port, serve

    env = dict(os.environ, HF_HUB_OFFLINE="1", NEWSDESK_INDEX_DIR=str(tmp_path / "indexes"),
               NEWSDESK_GENERATOR_BACKEND="extractive")  # fmt: skip
    built = subprocess.run(
        [str(VENV_BIN / "newsdesk"), "ingest", str(SEEDS), "--index", "served"],
        env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert built.returncode == 0, built.stderr
    port = free_port()
    with serve(
        tmp_path / "indexes",
        ready_timeout=180,
        cli=True,
        port=port,
        cli_args=("--index", "served"),
        generator_backend="extractive",
    ) as server:
        assert server.url == f"http://127.0.0.1:{port}"
        answer = httpx.post(
            f"{server.url}/v1/ask", json={"question": "Who invited Zelensky to Moscow?"}, timeout=60
        ).json()
        assert answer["citations"] and answer["backend"] == "extractive"
        assert httpx.get(f"{server.url}/widget.js", timeout=10).status_code == 200


def test_index_drop_deletes_an_index_and_nothing_else(tmp_path: Path) -> None:
    thesis = tmp_path / "thesis"
    thesis.mkdir()
    (thesis / "thesis.txt").write_text("three years of work\n")
    refused = newsdesk(tmp_path, "index", "drop", str(thesis), "--yes")
    assert refused.returncode == 2 and refused.stderr.startswith("error: NotAnIndex: ")
    assert (thesis / "thesis.txt").read_text() == "three years of work\n"

    assert newsdesk(tmp_path, "ingest", str(SEEDS), "--index", "news").returncode == 0
    dropped = newsdesk(tmp_path, "index", "drop", "news", "--yes")
    assert dropped.returncode == 0, dropped.stderr
    assert not (tmp_path / "indexes" / "news").exists()
    gone = newsdesk(tmp_path, "index", "drop", "news", "--yes")
    assert gone.returncode == 2 and gone.stderr.startswith("error: UnknownIndex: ")


def test_ask_prints_the_answer_with_its_cited_sentences(tmp_path: Path) -> None:
    assert newsdesk(tmp_path, "ingest", str(SEEDS), "--index", "news").returncode == 0
    asked = newsdesk(
        tmp_path, "ask", "Who said Moscow is ready for dialogue?", "-i", "news",
        "--backend", "extractive", "--json",
    )  # fmt: skip
    assert asked.returncode == 0, asked.stderr
    answer = json.loads(asked.stdout)
    assert not answer["abstained"] and answer["citations"]
    source = (SEEDS / "000_a3768beeca3bd2e8.md").read_text(encoding="utf-8")
    assert all(c["text"] in source and c["char_end"] > c["char_start"] for c in answer["citations"])
    shown = newsdesk(
        tmp_path, "ask", "Who said Moscow is ready for dialogue?", "-i", "news",
        "--backend", "extractive",
    )  # fmt: skip
    assert shown.returncode == 0 and "[1] " in shown.stdout and "a3768beeca3bd2e8#" in shown.stdout
    empty = newsdesk(tmp_path, "ask", "   ", "-i", "news", "--backend", "extractive")
    assert empty.returncode == 2 and empty.stderr.startswith("error: EmptyQuestion: ")
