"""An OpenAI-compatible chat endpoint, so chat front ends can use Newsdesk as a model.

The last user message is the question and the earlier turns are its history. The reply's
content is the answer with [n] markers and a list of sources; the citations also travel as
data in a `citations` field (on the response, and on the last chunk of a stream). A stream
sends each sentence once it has passed the support check, so nothing unchecked is ever shown.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any, Literal

import anyio
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from api.deps import AskKey, DeskDep, allowed_backends, request_backend
from api.schemas import Text
from rag.answering.answer import check_language
from rag.answering.answer_types import Answer, Citation
from rag.errors import EmptyQuestion, NewsdeskError
from rag.retrieval.retrieve import check_history, check_question

router = APIRouter(prefix="/v1", tags=["openai"], dependencies=[AskKey])
MODELS = {"newsdesk": None, "newsdesk-llamacpp": "llamacpp", "newsdesk-extractive": "extractive"}


class ContentPart(BaseModel):
    model_config = ConfigDict(extra="ignore")
    type: str
    text: Text | None = None


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="ignore")
    role: Literal["system", "user", "assistant", "tool", "developer"]
    content: Text | list[ContentPart] | None = None

    def text(self) -> str:
        if isinstance(self.content, list):
            return " ".join(p.text or "" for p in self.content if p.type == "text")
        return self.content or ""


class ChatRequest(BaseModel):
    # Clients send many optional OpenAI fields (temperature, top_p, user...): ignored here.
    model_config = ConfigDict(extra="ignore")
    model: str = Field("newsdesk", max_length=100)
    messages: list[ChatMessage] = Field(min_length=1, max_length=50)
    stream: bool = False


def _split(request: ChatRequest) -> tuple[str, list[dict[str, str]]]:
    turns = [m for m in request.messages if m.role in ("user", "assistant")]
    if not turns or turns[-1].role != "user":
        raise EmptyQuestion("the last message must be the user's question")
    history = [{"role": m.role, "content": m.text()} for m in turns[:-1]]
    return turns[-1].text(), history


def sources(citations: list[Citation]) -> str:
    lines = [
        f"[{c.n}] {c.title} ({c.source or 'unknown outlet'}"
        f"{', ' + c.published_at[:10] if c.published_at else ''}): “{c.text}”"
        for c in citations
    ]
    return "\n\nSources:\n" + "\n".join(lines) if lines else ""


def _content(answer: Answer) -> str:
    if answer.abstained:
        return answer.text + sources(answer.related).replace("Sources:", "Related reading:")
    return answer.text + sources(answer.citations)


@router.get("/models")
def models(desk: DeskDep) -> dict[str, Any]:
    offered = allowed_backends(desk.settings)
    names = [m for m, backend in MODELS.items() if backend is None or backend in offered]
    return {
        "object": "list",
        "data": [{"id": m, "object": "model", "owned_by": "newsdesk"} for m in names],
    }


@router.post(
    "/chat/completions",
    # JSON, or with "stream": true the OpenAI chunks as Server-Sent Events.
    responses={200: {"content": {"application/json": {}, "text/event-stream": {}}}},
)
def chat_completions(body: ChatRequest, desk: DeskDep, request: Request) -> Any:
    question, history = _split(body)
    check_question(question)
    check_history(history)
    check_language(question)
    answerer = desk.answerer(None, request_backend(desk.settings, MODELS.get(body.model)))
    if answerer.slots is not None and answerer.slots.full:
        raise answerer.slots.busy_error()
    ident = f"chatcmpl-{uuid.uuid4().hex[:24]}"
    created = int(time.time())
    metrics = request.app.state.metrics
    if not body.stream:
        answer = answerer.answer(question, history)
        metrics.observe_answer(answer)
        return JSONResponse(
            {
                "id": ident,
                "object": "chat.completion",
                "created": created,
                "model": body.model,
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": _content(answer)},
                        "finish_reason": "stop",
                    }
                ],
                "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
                "citations": [c.__dict__ for c in answer.citations],
                "newsdesk": answer.to_json(),
            }
        )

    events = answerer.stream(question, history)

    def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> str:
        payload = {
            "id": ident,
            "object": "chat.completion.chunk",
            "created": created,
            "model": body.model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
            **extra,
        }
        return f"data: {json.dumps(payload, ensure_ascii=False)}\n\n"

    async def stream() -> AsyncIterator[str]:
        yield chunk({"role": "assistant", "content": ""})
        shown = 0
        try:
            while True:
                item = await anyio.to_thread.run_sync(next, events, None)
                if item is None:
                    break
                kind, payload = item
                if kind == "verdict" or kind == "sentence" and payload["supported"]:
                    marks = "".join(f"[{n}]" for n in payload["citations"])
                    text = ("" if not shown else " ") + f"{payload['text']} {marks}"
                    shown += 1
                    yield chunk({"content": text})
                elif kind == "done":
                    answer: Answer = payload["answer"]
                    metrics.observe_answer(answer)
                    tail = _content(answer) if answer.abstained else sources(answer.citations)
                    yield chunk({"content": tail})
                    yield chunk(
                        {},
                        "stop",
                        citations=[c.__dict__ for c in answer.citations],
                        newsdesk=answer.to_json(),
                    )
        except NewsdeskError as exc:
            error = {"type": exc.name, "message": exc.public_message}
            yield f"data: {json.dumps({'error': error})}\n\n"
        finally:
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(events.close)
        yield "data: [DONE]\n\n"

    return StreamingResponse(stream(), media_type="text/event-stream")
