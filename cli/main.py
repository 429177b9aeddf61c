"""The `newsdesk` command line: ingest, search, ask, manage indexes and feeds, serve; the
evaluation commands come from `cli.evaluate`.

Every domain error ends the command with exit code 2 and one line on stderr:
`error: <ErrorName>: <message>`.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from cli import evaluate
from cli.common import IndexOpt, domain_errors, err, open_desk, out
from rag.errors import InvalidDate

# Models come from packages; never wait on a hub that is not there.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

app = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__)
index_app = typer.Typer(no_args_is_help=True, help="Inspect and change indexes.")
app.add_typer(index_app, name="index")
app.add_typer(evaluate.app, name="eval")


@app.command("ingest")
@domain_errors
def ingest_command(
    paths: Annotated[list[Path], typer.Argument(help="JSONL files, .txt/.md files or folders.")],
    index: IndexOpt = "default",
    json_out: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Add or update articles; unchanged ones cost nothing."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    from rag.ingestion.articles import load_articles

    desk = open_desk(embed_threads=0)  # an ingest has the machine to itself: every core
    articles = load_articles(paths, desk.settings.max_article_chars)
    with Progress(
        TextColumn("embedding chunks"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
        console=err,
        disable=json_out or not err.is_terminal,
    ) as bar:
        task = bar.add_task("ingest", total=None, rate="")

        def progress(done: int, total: int) -> None:
            elapsed = bar.tasks[task].elapsed or 0.0
            rate = f"{done / elapsed:.1f} chunks/s" if elapsed > 0 and done else ""
            bar.update(task, completed=done, total=total, rate=rate)

        report = desk.ingest_articles(articles, index, progress)
    if json_out:
        print(json.dumps(report.to_json()))
        return
    out.print(
        f"{index}: {report.added} added, {report.updated} updated, {report.unchanged} unchanged; "
        f"{report.chunks_written} chunks written ({report.chunks_embedded} embedded, "
        f"{report.chunks_reused} reused), {report.stale_deleted} stale removed "
        f"in {report.seconds:.1f}s"
    )


def _epoch(value: str | None, flag: str) -> int | None:
    from rag.ingestion.articles import parse_date

    if value is None:
        return None
    try:
        return parse_date(value, flag)
    except InvalidDate:
        raise InvalidDate(f"{flag} {value!r} is not an ISO 8601 date") from None


@app.command("search")
@domain_errors
def search_command(
    question: Annotated[str, typer.Argument(help="What to look for, in plain language.")],
    index: IndexOpt = "default",
    k: Annotated[int, typer.Option("-k", help="How many hits.", min=1, max=100)] = 10,
    source: Annotated[
        list[str] | None, typer.Option("--source", help="Only this outlet (repeatable).")
    ] = None,
    since: Annotated[str | None, typer.Option(help="Published on or after (ISO date).")] = None,
    until: Annotated[str | None, typer.Option(help="Published on or before (ISO date).")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print hits as JSON.")] = False,
) -> None:
    """Ranked passages with their sentences, offsets and article metadata."""
    from rag.types import Filters

    filters = Filters(tuple(source or ()), _epoch(since, "--since"), _epoch(until, "--until"))
    hits = open_desk().search(question, k, filters, index)
    if json_out:
        print(json.dumps([h.to_json() for h in hits], ensure_ascii=False, indent=2))
        return
    if not hits:
        out.print("no hits")
    for rank, hit in enumerate(hits, start=1):
        when = (
            datetime.fromtimestamp(hit.published_at, UTC).date().isoformat()
            if hit.published_at
            else "undated"
        )
        out.print(
            f"[bold]{rank}. {hit.title}[/bold]  [dim]{hit.source or 'unknown outlet'} · {when} · "
            f"score {hit.score:.4f} · {hit.article_id}[/dim]"
        )
        for s in hit.sentences:
            out.print(
                f"   [cyan]{s.id}[/cyan] [{s.char_start}:{s.char_end}] {s.text}", highlight=False
            )


@app.command("ask")
@domain_errors
def ask_command(
    question: Annotated[str, typer.Argument(help="A question about the indexed news.")],
    index: IndexOpt = "default",
    backend: Annotated[
        str | None, typer.Option(help="Generator: llamacpp, openai or extractive.")
    ] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print the answer object.")] = False,
    now: Annotated[
        datetime | None,
        typer.Option(help="Read 'yesterday' or 'this week' against this time (UTC if no zone)."),
    ] = None,
) -> None:
    """A short answer whose every claim cites its source sentences."""
    desk = open_desk()
    if now is not None and now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    try:
        answer = desk.answer(question, index=index, backend=backend, now=now)
    finally:
        desk.close()
    if json_out:
        print(json.dumps(answer.to_json(), ensure_ascii=False, indent=2))
        return
    out.print(answer.text, highlight=False, markup=False)
    notes = answer.related if answer.abstained else answer.citations
    if notes:
        out.print("\nRelated reading:" if answer.abstained else "")
    for c in notes:
        when = (c.published_at or "")[:10] or "undated"
        out.print(
            f"[{c.n}] {c.title} ({c.source or 'unknown outlet'}, {when}), "
            f"{c.sentence_id} [{c.char_start}:{c.char_end}]: “{c.text}”",
            highlight=False,
            markup=False,
        )


@index_app.command("stats")
@domain_errors
def stats_command(name: Annotated[str, typer.Argument(help="Index name or path.")]) -> None:
    """Articles, chunks and how the index was built."""
    print(json.dumps(open_desk().index(name).stats(), indent=2))


@index_app.command("delete")
@domain_errors
def delete_command(
    name: Annotated[str, typer.Argument(help="Index name or path.")],
    article_id: Annotated[str, typer.Argument(help="The article to remove.")],
) -> None:
    """Remove one article and all its chunks."""
    open_desk().delete_article(article_id, name)
    out.print(f"deleted {article_id} from {name}")


@index_app.command("drop")
@domain_errors
def drop_command(
    name: Annotated[str, typer.Argument(help="Index name or path.")],
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask.")] = False,
) -> None:
    """Delete a whole index (to rebuild it with another embedder or chunker)."""
    if not yes and sys.stdin.isatty() and not typer.confirm(f"Delete the whole index {name}?"):
        raise typer.Exit(1)
    open_desk().drop(name)
    out.print(f"dropped {name}")


feeds_app = typer.Typer(no_args_is_help=True, help="RSS/Atom feeds an index follows.")
app.add_typer(feeds_app, name="feeds")


def _settings() -> Any:
    from rag.config import Settings

    return Settings()


@feeds_app.command("add")
@domain_errors
def feeds_add_command(
    url: Annotated[str, typer.Argument(help="An RSS or Atom feed's http(s) URL.")],
    index: IndexOpt = "default",
    every: Annotated[
        float | None,
        typer.Option(
            min=1, help="Poll it every this many seconds (default NEWSDESK_FEED_INTERVAL_S)."
        ),
    ] = None,
) -> None:
    """Follow a feed: `newsdesk watch` polls it and ingests its items."""
    from rag.feeds import check_url, store_for

    settings = _settings()
    check_url(url, settings)
    out.print_json(data=store_for(settings).add(url, index, every).public())


@feeds_app.command("list")
@domain_errors
def feeds_list_command(
    index: Annotated[str | None, typer.Option("--index", "-i", help="Only this index.")] = None,
) -> None:
    """Each feed with its status, last fetch, last error and items seen."""
    from rag.feeds import store_for

    feeds = [f.public() for f in store_for(_settings()).list(index)]
    out.print_json(data=feeds)


@feeds_app.command("remove")
@domain_errors
def feeds_remove_command(
    url: Annotated[str, typer.Argument()], index: IndexOpt = "default"
) -> None:
    """Stop following a feed (its articles stay in the index)."""
    from rag.feeds import store_for

    store_for(_settings()).remove(url, index)


@app.command("watch")
@domain_errors
def watch_command(
    index: Annotated[str | None, typer.Option("--index", "-i", help="Only this index.")] = None,
    once: Annotated[bool, typer.Option("--once", help="Poll every feed once, then stop.")] = False,
) -> None:
    """Poll the feeds and ingest new and changed items, until stopped."""
    from dataclasses import asdict

    from rag.feeds import poll_all, watch

    desk = open_desk()

    def report(r: Any) -> None:
        out.print_json(data=asdict(r))

    if once:
        for r in poll_all(desk.settings, desk.ingest_articles, index):
            report(r)
        return
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C ends the watch, not in error
        watch(desk.settings, desk.ingest_articles, index, on_report=report)


@app.command("serve")
def serve_command(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    index: Annotated[str | None, typer.Option("--index", "-i", help="The default index.")] = None,
) -> None:
    """Serve the HTTP API and the widget, as `make serve` does."""
    import uvicorn

    from api.main import create_app
    from rag.config import Settings

    settings = Settings(default_index=index) if index else Settings()
    uvicorn.run(create_app(settings), host=host, port=port)


if __name__ == "__main__":
    app()
