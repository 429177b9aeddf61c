"""POST /v1/ask (the answer object) and POST /v1/ask/stream (the same as Server-Sent Events).

Stream events: `evidence`, `token`, `sentence`, `citation`, `part`, `verdict`, `done` (the whole
answer) and `error` (`rag.answering.answer` says what each carries).
A client that disconnects closes the answer stream, which stops the generation.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Generator
from typing import Any

import anyio
from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from api.deps import AskKey, DeskDep, request_backend
from api.schemas import AnswerOut, AskIn
from rag.answering.answer import Answerer, check_language
from rag.answering.answer_types import Answer
from rag.errors import NewsdeskError
from rag.retrieval.retrieve import check_history, check_question

router = APIRouter(prefix="/v1", tags=["ask"], dependencies=[AskKey])


def _prepare(body: AskIn, desk: Any) -> Answerer:
    """Everything that can fail before an answer starts, so it fails with its HTTP status."""
    check_question(body.question)
    check_history([t.model_dump() for t in body.history])
    check_language(body.question)
    answerer = desk.answerer(body.index, request_backend(desk.settings, body.backend))
    if answerer.slots is not None and answerer.slots.full:
        raise answerer.slots.busy_error()
    return answerer


def _events(body: AskIn, answerer: Answerer) -> Generator[tuple[str, dict[str, Any]], None, None]:
    return answerer.stream(
        body.question,
        [t.model_dump() for t in body.history],
        filters=body.filters.to_filters(),
        now=body.now_utc(),
    )


@router.post("/ask", response_model=AnswerOut, responses={503: {"description": "Busy"}})
def ask(body: AskIn, desk: DeskDep, request: Request) -> AnswerOut:
    answerer = _prepare(body, desk)
    answer = answerer.answer(
        body.question,
        [t.model_dump() for t in body.history],
        filters=body.filters.to_filters(),
        now=body.now_utc(),
    )
    request.app.state.metrics.observe_answer(answer)
    return AnswerOut(**answer.to_json())


def _sse(kind: str, payload: dict[str, Any]) -> str:
    return f"event: {kind}\ndata: {json.dumps(payload, ensure_ascii=False)}\n\n"


@router.post(
    "/ask/stream",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}}},
)
def ask_stream(body: AskIn, desk: DeskDep, request: Request) -> StreamingResponse:
    answerer = _prepare(body, desk)
    metrics = request.app.state.metrics
    events = _events(body, answerer)

    async def stream() -> AsyncIterator[str]:
        try:
            while True:
                # Each step runs in a worker thread; a disconnect cancels us between steps.
                item = await anyio.to_thread.run_sync(next, events, None)
                if item is None:
                    return
                kind, payload = item
                if kind == "done":
                    answer: Answer = payload["answer"]
                    metrics.observe_answer(answer)
                    payload = {"answer": answer.to_json()}
                yield _sse(kind, payload)
        except NewsdeskError as exc:
            yield _sse("error", {"error": exc.name, "message": exc.public_message})
        finally:
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(events.close)

    return StreamingResponse(
        stream(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
