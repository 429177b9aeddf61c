"""Errors of the evaluation runner, rendered by the CLI like every domain error (exit code 2)."""

from __future__ import annotations

from rag.errors import NewsdeskError


class EvalError(NewsdeskError):
    """A run that cannot start or go on: no readable questions, a bad option, a dead server."""

    status = 400
