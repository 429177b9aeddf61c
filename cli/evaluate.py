"""`newsdesk eval`: answer a golden set and score it, compare two runs (the `eval` package)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from cli.common import domain_errors, err, open_desk, out

app = typer.Typer(no_args_is_help=True, help="Evaluate answers against golden Q&A sets.")
EXIT_THRESHOLD = 3  # a --fail-under / --fail-over threshold was not met


@app.command("run")
@domain_errors
def eval_run_command(
    set_path: Annotated[Path, typer.Option("--set", help="Golden set (JSONL).")],
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for results, summary, report.")],
    index: Annotated[
        str | None, typer.Option("--index", "-i", help="Index name or path (default: default).")
    ] = None,
    backend: Annotated[
        str | None, typer.Option(help="Generator: llamacpp, openai or extractive.")
    ] = None,
    url: Annotated[
        str | None, typer.Option(help="Ask a running server (POST URL/v1/ask) instead.")
    ] = None,
    limit: Annotated[int | None, typer.Option(help="Only the first N questions.", min=1)] = None,
    sample: Annotated[
        int | None, typer.Option(help="A random sample of N questions (see --seed).", min=1)
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of --sample.")] = 0,
    k: Annotated[int, typer.Option("-k", help="Retrieved chunks recorded.", min=1, max=100)] = 10,
    judge: Annotated[
        str | None, typer.Option(help="Generator backend that judges correctness (off).")
    ] = None,
    set_format: Annotated[str, typer.Option("--format", help="auto, golden or multihop.")] = "auto",
    fail_under: Annotated[
        list[str] | None,
        typer.Option("--fail-under", help="METRIC=VALUE: exit 3 if the metric is below."),
    ] = None,
    fail_over: Annotated[
        list[str] | None,
        typer.Option("--fail-over", help="METRIC=VALUE: exit 3 if the metric is above."),
    ] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Answer a golden set, score it, write results.jsonl, summary.json and report.html."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    from eval.console import print_summary
    from eval.run import RunOptions, run_eval
    from eval.sets import load_set
    from eval.summary import parse_thresholds
    from rag.config import Settings

    thresholds = parse_thresholds(fail_under or [], "under")
    thresholds += parse_thresholds(fail_over or [], "over")
    golden = load_set(set_path, set_format)
    for problem in golden.problems:
        print(f"warning: skipped {problem.render(set_path)}", file=sys.stderr)
    options = RunOptions(
        set_path=set_path,
        out=out_dir,
        index=index,
        backend=backend,
        url=url,
        k=k,
        limit=limit,
        sample=sample,
        seed=seed,
        judge=judge,
        format=golden.format,
        thresholds=thresholds,
    )
    run_desk = None if url and not judge else open_desk()
    settings = run_desk.settings if run_desk is not None else Settings()
    with Progress(
        TextColumn("answering"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[note]}"),
        TimeElapsedColumn(),
        TextColumn("eta"),
        TimeRemainingColumn(),
        console=err,
        disable=json_out or not err.is_terminal,
    ) as bar:
        task = bar.add_task("eval", total=None, note="")
        cached = 0

        def progress(done: int, total: int, row: dict[str, Any]) -> None:
            nonlocal cached
            cached += row["cached"]
            bar.update(task, completed=done, total=total, note=f"{cached} cached")

        try:
            outcome = run_eval(options, settings, run_desk, progress, golden)
        finally:
            if run_desk is not None:
                run_desk.close()
    if json_out:
        print(json.dumps(outcome.summary, ensure_ascii=False, indent=2))
    else:
        print_summary(out, outcome.summary)
        out.print(f"wrote {out_dir}/results.jsonl, summary.json, report.html", highlight=False)
    for line in outcome.failed_thresholds:
        print(line, file=sys.stderr)
    if outcome.failed_thresholds:
        raise typer.Exit(EXIT_THRESHOLD)


@app.command("compare")
@domain_errors
def eval_compare_command(
    run_a: Annotated[Path, typer.Argument(help="Folder of the first run (the baseline).")],
    run_b: Annotated[Path, typer.Argument(help="Folder of the second run.")],
    json_out: Annotated[bool, typer.Option("--json", help="Print the comparison as JSON.")] = False,
) -> None:
    """Metric deltas (B - A) with paired-bootstrap intervals, and the questions that flipped."""
    from eval.compare import compare_runs
    from eval.console import print_comparison

    result = compare_runs(run_a, run_b)
    if json_out:
        print(json.dumps(result, ensure_ascii=False, indent=2))
        return
    print_comparison(out, result)
