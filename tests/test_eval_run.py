"""`newsdesk eval run` / `eval compare` end to end: a real seed index, the extractive backend,
the CLI as a user calls it (in process through typer's CliRunner, and against a real uvicorn
server in a subprocess for --url).
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bench.servers import serve
from cli.main import app
from eval.metrics import METRICS
from tests.conftest import ROOT, SEEDS
from tests.test_eval_metrics import KeywordJudge  # registers the test judge backend

SEED_SET = ROOT / "eval" / "sets" / "seed.jsonl"
SEED_ARTICLE = "a3768beeca3bd2e8"
ROW_KEYS = {
    "id", "question", "question_type", "gold", "prediction", "citations", "related", "retrieved",
    "judge", "scores", "timings", "client_ms", "gold_missing", "missing_articles", "cached",
    "error",
}  # fmt: skip
SUMMARY_KEYS = {
    "schema", "created_at", "set", "selection", "settings", "git", "models", "counts", "metrics",
    "by_question_type", "bootstrap", "thresholds", "wall_time_s", "flagged", "calibration",
}  # fmt: skip


def cli(index_dir: Path, *args: str, **env: str):
    result = CliRunner().invoke(
        app, [str(a) for a in args], env={"NEWSDESK_INDEX_DIR": str(index_dir), **env}
    )
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


def read_rows(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]


def summary_of(out: Path) -> dict:
    return json.loads((out / "summary.json").read_text())


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The seed index, built by the CLI as the set's README says; tests only read it."""
    folder = tmp_path_factory.mktemp("eval-indexes")
    done = cli(folder, "ingest", SEEDS, "--index", "seed")
    assert done.exit_code == 0, done.output
    return folder


@pytest.fixture(scope="module")
def seed_run(index_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One full run of the seed set; tests copy it before running on top of its cache."""
    out = tmp_path_factory.mktemp("seed-run") / "run"
    done = cli(index_dir, "eval", "run", "--set", SEED_SET, "--index", "seed",
               "--backend", "extractive", "--out", out)  # fmt: skip
    assert done.exit_code == 0, done.output
    return out


def copy_run(run: Path, tmp_path: Path) -> Path:
    target = tmp_path / "run"
    shutil.copytree(run, target)
    return target


def eval_run(index_dir: Path, out: Path, *extra: str, **env: str):
    return cli(
        index_dir, "eval", "run", "--set", SEED_SET, "--index", "seed", "--backend",
        "extractive", "--out", out, *extra, **env,
    )  # fmt: skip


def test_run_writes_results_summary_and_report_and_resumes(index_dir: Path, tmp_path: Path):
    out = tmp_path / "run"
    first = eval_run(index_dir, out, "--limit", "5")
    assert first.exit_code == 0, first.output
    assert "correct" in first.stdout and "citation_recall" in first.stdout
    early = read_rows(out)
    assert len(early) == 5 and not any(r["cached"] for r in early)

    # The whole set on top of the interrupted one: the first 5 come from the cache.
    full = eval_run(index_dir, out)
    assert full.exit_code == 0, full.output
    rows = read_rows(out)
    assert len(rows) == 30
    assert [r["cached"] for r in rows] == [True] * 5 + [False] * 25
    assert [r["timings"] for r in rows[:5]] == [r["timings"] for r in early]
    summary = summary_of(out)
    assert (
        summary["counts"] | {"questions": 30, "cached": 5, "answered_now": 25} == summary["counts"]
    )

    # Rows: question, gold, prediction, citations, retrieval, scores, timings.
    for row in rows:
        assert set(row) == ROW_KEYS
        assert set(row["scores"]) == set(METRICS)
        assert row["error"] is None and row["gold_missing"] is False
        assert row["prediction"]["backend"] == "extractive"
        assert "total_ms" in row["timings"] and 1 <= len(row["retrieved"]) <= 10
        for c in row["citations"]:
            assert c["article_id"] == SEED_ARTICLE and c["char_end"] > c["char_start"]
    answered = next(r for r in rows if r["id"] == "seed-005")
    assert "Galuzin" in answered["prediction"]["text"] and answered["scores"]["correct"] == 1.0

    # Summary: settings, commit, models, every metric with an interval, by question type.
    assert set(summary) == SUMMARY_KEYS
    assert summary["set"]["name"] == "seed" and summary["set"]["version"] == "1.0.0"
    # Ingest read the seed's sentences and flagged none (rag.ingestion.directives).
    assert summary["flagged"] == {}
    assert summary["settings"]["backend"] == "extractive"
    assert summary["settings"]["answer_settings"]["answer_hits"] == 8
    commit = summary["git"]["commit"]
    assert commit is None or re.fullmatch(r"[0-9a-f]{40}", commit)
    assert summary["models"] == {
        "generators": ["extractive"],
        "backends": ["extractive"],
        "embedder": "all-MiniLM-L6-v2",
        "judge": None,
    }
    assert set(summary["metrics"]) == set(METRICS)
    for name, metric in summary["metrics"].items():
        if name == "judge_correct":
            assert metric["value"] is None and metric["n"] == 0
            continue
        assert metric["ci_low"] <= metric["value"] <= metric["ci_high"], name
    assert set(summary["by_question_type"]) == {
        "factoid", "number", "yes_no", "unanswerable", "false_premise",
    }  # fmt: skip
    assert summary["by_question_type"]["yes_no"]["questions"] == 4
    assert summary["metrics"]["abstention_recall"]["n"] == 9  # the questions to abstain on

    # The report stands alone: inline CSS and SVG, nothing fetched.
    html = (out / "report.html").read_text()
    assert html.count("<svg") >= 3 and "<style>" in html
    assert not re.search(r"<script|<link|<img|\bsrc=|url\(|@import", html)
    wrong = [r["id"] for r in rows if r["scores"]["correct"] == 0.0]
    assert wrong and all(id_ in html for id_ in wrong)  # every wrong answer is listed
    assert "flagged" not in html  # nothing to say when no article is flagged
    from eval.report import render_report

    entry = {"kind": "directive", "sentence_ids": ["x#2"], "headline": False, "reason": "why"}
    flagged = render_report(summary | {"flagged": {"x": [entry]}}, rows)
    assert "1 article(s) of the index are flagged" in flagged and "x#2" in flagged


def test_fail_under_exits_3_with_one_line_per_failed_threshold(index_dir, seed_run, tmp_path):
    out = copy_run(seed_run, tmp_path)
    passing = eval_run(
        index_dir, out, "--fail-under", "correct=0.3", "--fail-under", "citation_recall=0.5"
    )
    assert passing.exit_code == 0, passing.output
    assert [t["passed"] for t in summary_of(out)["thresholds"]] == [True, True]

    failing = eval_run(
        index_dir, out,
        "--fail-under", "correct=0.99",
        "--fail-under", "evidence_recall@k=0.5",  # passes
        "--fail-under", "judge_correct=0.5",  # no judge: no value, fails
        "--fail-over", "latency_p50=0.001",
    )  # fmt: skip
    assert failing.exit_code == 3
    lines = failing.stderr.strip().splitlines()
    assert len(lines) == 3 and all(line.startswith("FAIL ") for line in lines)
    assert re.match(r"FAIL correct = 0\.\d+ < 0\.99 \(--fail-under correct=0\.99\)", lines[0])
    assert "judge_correct: no value" in lines[1]
    assert "--fail-over latency_p50=0.001" in lines[2]
    assert summary_of(out)["counts"]["cached"] == 30  # thresholds never re-answer

    unknown = eval_run(index_dir, out, "--fail-under", "accuracy=0.5")
    assert unknown.exit_code == 2
    assert unknown.stderr.startswith("error: EvalError: --fail-under 'accuracy=0.5': unknown")


def test_compare_reports_deltas_and_flips(index_dir, seed_run, tmp_path):
    # A real change of configuration: extractive answers of one sentence instead of two.
    other = tmp_path / "one-sentence"
    done = eval_run(index_dir, other, NEWSDESK_EXTRACTIVE_SENTENCES="1")
    assert done.exit_code == 0, done.output
    assert summary_of(other)["counts"]["cached"] == 0  # another configuration, another cache
    assert (
        summary_of(other)["settings"]["config_hash"]
        != summary_of(seed_run)["settings"]["config_hash"]
    )

    shown = cli(index_dir, "eval", "compare", seed_run, other)
    assert shown.exit_code == 0, shown.output
    assert "citation_precision" in shown.stdout and "correct -> wrong" in shown.stdout

    result = json.loads(cli(index_dir, "eval", "compare", seed_run, other, "--json").stdout)
    assert result["shared_questions"] == 30 and result["notes"] == []
    a = {r["id"]: r for r in read_rows(seed_run)}
    b = {r["id"]: r for r in read_rows(other)}
    precision = result["metrics"]["citation_precision"]
    assert precision["ci_low"] <= precision["delta"] <= precision["ci_high"]
    # The difference is over the questions both runs scored (one may abstain where the
    # other answers), not the difference of the two runs' own means.
    pairs = [
        (a[i]["scores"]["citation_precision"], b[i]["scores"]["citation_precision"])
        for i in a
        if a[i]["scores"]["citation_precision"] is not None
        and b[i]["scores"]["citation_precision"] is not None
    ]
    assert precision["n_shared"] == len(pairs)
    expected = sum(y for _, y in pairs) / len(pairs) - sum(x for x, _ in pairs) / len(pairs)
    assert precision["delta"] == pytest.approx(expected, abs=1e-3)
    recall = result["metrics"]["citation_recall"]
    assert recall["delta"] <= 0
    # The flips are exactly the questions whose verdict changed.
    lost = [i for i in a if a[i]["scores"]["correct"] == 1 and b[i]["scores"]["correct"] == 0]
    gained = [i for i in a if a[i]["scores"]["correct"] == 0 and b[i]["scores"]["correct"] == 1]
    assert [f["id"] for f in result["flips"]["correct_to_wrong"]] == lost
    assert [f["id"] for f in result["flips"]["wrong_to_correct"]] == gained

    missing = cli(index_dir, "eval", "compare", seed_run, tmp_path / "nothing")
    assert missing.exit_code == 2 and "is not an evaluation run folder" in missing.stderr


def test_malformed_lines_are_reported_and_gold_missing_is_flagged(index_dir, tmp_path):
    seed_rows = SEED_SET.read_text().splitlines()
    absent = json.loads(seed_rows[0]) | {"id": "elsewhere"}
    absent["evidence"] = [{"article_id": "not-indexed", "sentence": "Somewhere else entirely."}]
    lines = [
        seed_rows[0],
        "{not json",
        json.dumps({"id": "no-answer", "question": "Who?"}),
        json.dumps(absent),
        seed_rows[21],  # a question to abstain on
    ]
    set_path = tmp_path / "mixed.jsonl"
    set_path.write_text("\n".join(lines) + "\n")
    out = tmp_path / "run"
    done = cli(index_dir, "eval", "run", "--set", set_path, "--index", "seed",
               "--backend", "extractive", "--out", out)  # fmt: skip
    assert done.exit_code == 0, done.output
    warnings = [line for line in done.stderr.splitlines() if line.startswith("warning:")]
    assert warnings == [
        f"warning: skipped {set_path}:2: not JSON (Expecting property name enclosed in double "
        "quotes at column 2)",
        f"warning: skipped {set_path}:3: 'answer' must be a non-empty string, not None",
    ]
    rows = {r["id"]: r for r in read_rows(out)}
    assert list(rows) == ["seed-001", "elsewhere", "seed-022"]
    flagged = rows["elsewhere"]
    assert flagged["gold_missing"] is True and flagged["missing_articles"] == ["not-indexed"]
    assert flagged["scores"]["citation_recall"] is None
    assert flagged["scores"]["evidence_recall@k"] is None
    assert flagged["scores"]["correct"] == 1.0  # the answer itself is still scored
    summary = summary_of(out)
    assert summary["counts"]["gold_missing"] == 1
    assert summary["metrics"]["citation_recall"]["n"] == 1
    assert len(summary["set"]["problems"]) == 2
    assert "2 line(s) of the set were skipped" in (out / "report.html").read_text()


def test_sample_is_seeded(index_dir, seed_run, tmp_path):
    out = copy_run(seed_run, tmp_path)
    ids = []
    for seed in ("3", "3", "4"):
        done = eval_run(index_dir, out, "--sample", "7", "--seed", seed)
        assert done.exit_code == 0, done.output
        ids.append([r["id"] for r in read_rows(out)])
        assert all(r["cached"] for r in read_rows(out))
    assert len(ids[0]) == 7 and ids[0] == ids[1] and ids[0] != ids[2]
    assert ids[0] == sorted(ids[0])  # kept in set order


def test_judge_adds_verdicts_without_answering_again(index_dir, seed_run, tmp_path):
    out = copy_run(seed_run, tmp_path)
    done = eval_run(index_dir, out, "--judge", KeywordJudge.name)
    assert done.exit_code == 0, done.output
    summary = summary_of(out)
    assert summary["counts"]["cached"] == 30
    assert summary["models"]["judge"] == "test-keyword-judge:keyword-judge"
    judged = summary["metrics"]["judge_correct"]
    assert judged["kind"] == "judged" and judged["n"] == 21  # every answerable question
    rows = read_rows(out)
    assert all(r["judge"]["correct"] in (True, False) for r in rows if r["judge"])
    # The keyword judge agrees with the deterministic containment check, question by question.
    for r in rows:
        if r["judge"]:
            assert r["scores"]["judge_correct"] == r["scores"]["answer_contains"], r["id"]


@pytest.mark.slow
def test_eval_against_a_real_server_matches_the_local_run(index_dir, seed_run, tmp_path):
    with serve(
        index_dir, ready_timeout=120, generator_backend="extractive", default_index="seed",
        rate_limit="10000/minute",
    ) as server:  # fmt: skip
        url = server.url
        out = tmp_path / "http"
        done = cli(index_dir, "eval", "run", "--set", SEED_SET, "--url", url, "--out", out)
        assert done.exit_code == 0, done.output
        summary = summary_of(out)
        assert summary["settings"]["mode"] == "http" and summary["settings"]["url"] == url
        assert summary["counts"] | {"questions": 30, "errors": 0} == summary["counts"]
        assert summary["models"]["embedder"] == "all-MiniLM-L6-v2"
        # Same code path as the local run: the same answers, citations and scores.
        local = {r["id"]: r for r in read_rows(seed_run)}
        for row in read_rows(out):
            twin = local[row["id"]]
            assert row["prediction"]["text"] == twin["prediction"]["text"], row["id"]
            assert row["citations"] == twin["citations"]
            assert row["scores"] | _no_latency() == twin["scores"] | _no_latency()
            assert row["client_ms"] >= row["timings"]["total_ms"]
        # Resumes against the server too.
        again = cli(index_dir, "eval", "run", "--set", SEED_SET, "--url", url, "--out", out)
        assert again.exit_code == 0 and summary_of(out)["counts"]["cached"] == 30
    dead = cli(index_dir, "eval", "run", "--set", SEED_SET, "--url", url, "--out", out)
    assert dead.exit_code == 2 and "does not answer" in dead.stderr


def _no_latency() -> dict:
    return {name: None for name, m in METRICS.items() if m.group == "latency"}


def test_a_refitted_model_file_invalidates_cached_answers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import rag
    from eval.run import code_fingerprint

    (tmp_path / "answer.py").write_text("x = 1\n")
    (tmp_path / "confidence_model.json").write_text('{"x": [0, 1]}\n')
    monkeypatch.setattr(rag, "__file__", str(tmp_path / "__init__.py"))
    before = code_fingerprint()
    (tmp_path / "confidence_model.json").write_text('{"x": [0, 0.5, 1]}\n')
    assert code_fingerprint() != before
