"""What every `newsdesk` command shares: the consoles, the desk, and domain errors rendered as
one line and exit code 2."""

from __future__ import annotations

import sys
from functools import wraps
from typing import Annotated, Any

import typer
from rich.console import Console

from rag.errors import NewsdeskError

out = Console(soft_wrap=True)
err = Console(stderr=True)

IndexOpt = Annotated[
    str, typer.Option("--index", "-i", help="Index name under indexes/, or a path.")
]


def open_desk(**overrides: Any) -> Any:
    from rag.config import Settings
    from rag.desk import Desk

    return Desk(Settings(**overrides))


def domain_errors(command: Any) -> Any:
    """Render our errors as one readable line and a non-zero exit, never a traceback."""

    @wraps(command)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except NewsdeskError as exc:
            print(f"error: {exc.name}: {exc.message}", file=sys.stderr)
            raise typer.Exit(2) from None

    return run
