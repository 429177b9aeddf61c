"""An ingest killed with SIGKILL half way and run again ends with exactly the right chunks."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from rag.config import Settings
from rag.desk import Desk
from rag.errors import CorruptIndex
from tests.conftest import CORPUS, ROOT

pytestmark = pytest.mark.slow

CHILD = """
import sys
from pathlib import Path
from rag.config import Settings
from rag.desk import Desk

settings = Settings(index_dir=Path(sys.argv[1]), write_batch=8, embed_batch_size=8)
def progress(done, total):
    print(f"{done} {total}", flush=True)
Desk(settings).ingest_paths([Path(sys.argv[2])], "crash", progress)
print("finished", flush=True)
"""


def subset(tmp_path: Path, n: int) -> Path:
    lines = CORPUS.read_text(encoding="utf-8").splitlines()[:n]
    path = tmp_path / "subset.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def kill_mid_ingest(index_dir: Path, corpus: Path, after_chunks: int) -> None:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(index_dir), str(corpus)],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert child.stdout is not None
    for line in child.stdout:
        if line.startswith("finished"):
            pytest.fail("the ingest finished before it could be killed")
        done, _ = map(int, line.split())
        if done >= after_chunks:
            os.kill(child.pid, signal.SIGKILL)
            break
    child.wait(30)
    assert child.returncode == -signal.SIGKILL


def test_kill_9_then_rerun_gives_exactly_the_clean_result(tmp_path: Path, embedder) -> None:
    corpus = subset(tmp_path, 60)
    kill_mid_ingest(tmp_path / "killed", corpus, after_chunks=24)

    killed = Desk(Settings(index_dir=tmp_path / "killed"), embedder=embedder)
    partial = {r.id for r in killed.index("crash").all_chunks()}
    assert len(partial) > 0, "the kill came before any chunk was written"
    assert killed.index("crash").article_count() == 0  # no article is marked complete early

    report = killed.ingest_paths([corpus], "crash")
    assert report.added == 60

    clean = Desk(Settings(index_dir=tmp_path / "clean"), embedder=embedder)
    clean_report = clean.ingest_paths([corpus], "crash")
    # Chunks written before the kill were neither embedded nor written again.
    assert report.chunks_written == clean_report.chunks_written - len(partial)
    assert report.chunks_embedded <= report.chunks_written
    recovered = killed.index("crash")
    reference = clean.index("crash")
    assert {r.id for r in recovered.all_chunks()} == {r.id for r in reference.all_chunks()}
    assert recovered.article_hashes() == reference.article_hashes()
    assert recovered.chunk_count() == reference.chunk_count()


def test_changed_articles_killed_mid_update_leave_no_orphans(tmp_path: Path, embedder) -> None:
    corpus = subset(tmp_path, 60)
    settings = Settings(index_dir=tmp_path / "idx")
    Desk(settings, embedder=embedder).ingest_paths([corpus], "crash")
    rows = [json.loads(x) for x in corpus.read_text(encoding="utf-8").splitlines()]
    for row in rows:
        row["body"] += "\n\nThis article was updated."
    changed = tmp_path / "changed.jsonl"
    changed.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")

    kill_mid_ingest(tmp_path / "idx", changed, after_chunks=24)
    desk = Desk(settings, embedder=embedder)
    desk.ingest_paths([changed], "crash")
    index = desk.index("crash")
    hashes = index.article_hashes()
    for record in index.all_chunks():
        assert record.meta["content_hash"] == hashes[record.meta["article_id"]], record.id
    assert len(hashes) == 60


def test_corrupt_index_folder_is_named(tmp_path: Path, embedder) -> None:
    broken = tmp_path / "indexes" / "broken"
    broken.mkdir(parents=True)
    (broken / "chroma.sqlite3").write_bytes(b"this is not a database" * 100)
    desk = Desk(Settings(index_dir=tmp_path / "indexes"), embedder=embedder)
    with pytest.raises(CorruptIndex, match="broken"):
        desk.search("anything", index="broken")
    stray = tmp_path / "indexes" / "stray"
    stray.mkdir()
    (stray / "notes.txt").write_text("hello")
    with pytest.raises(CorruptIndex, match="not a Chroma index"):
        desk.search("anything", index="stray")
