"""Follow-up questions: one that refers back ("and him?", "what about it?") is made to stand on
its own before it is read, by the model's rewrite or, without one, joined to the last question
asked."""

from __future__ import annotations

from collections.abc import Sequence

from rag.answering.claim_stream import json_field, parse_answer
from rag.answering.prompts import REWRITE_SCHEMA, REWRITE_SYSTEM, REWRITE_USER
from rag.generators.base import GenerationRequest, Generator
from rag.reading.english import refers_back
from rag.retrieval.retrieve import MAX_QUESTION_CHARS


def standalone(
    generator: Generator, question: str, history: Sequence[dict[str, str]], timeout_s: float
) -> str:
    """The follow-up rewritten by the model to stand on its own (its pronouns replaced by the
    names they stand for); without a model, or when the model does not rewrite it, `glued`."""
    if not generator.uses_llm:
        return glued(question, history)
    turns = "\n".join(f"{h.get('role', 'user')}: {h.get('content', '')}" for h in history[-6:])
    request = GenerationRequest(
        messages=[
            {"role": "system", "content": REWRITE_SYSTEM},
            {"role": "user", "content": REWRITE_USER.format(history=turns, question=question)},
        ],
        json_schema=REWRITE_SCHEMA if generator.supports_json_schema else None,
        max_tokens=80,
        timeout_s=timeout_s,
    )
    raw = "".join(generator.stream(request))
    data = parse_answer(raw)  # tolerant JSON reading
    rewritten = json_field(raw, "question") or (data.claims[0].text if data.claims else "")
    if rewritten.strip().lower() in ("", question.lower()):
        return glued(question, history)  # the model did not rewrite: keep the context
    return rewritten.strip()


def glued(question: str, history: Sequence[dict[str, str]]) -> str:
    """A follow-up that refers back ("it", "what about...") read together with the last user
    turn; a question that stands on its own is left alone."""
    if not refers_back(question):
        return question
    last = next((h["content"] for h in reversed(history) if h.get("role") == "user"), "")
    # Each is within the question limit; together they are kept within it too, by the end of
    # the earlier turn, the words nearest the follow-up.
    room = MAX_QUESTION_CHARS - len(question) - 1
    if len(last) > room:
        last = last[len(last) - room :].partition(" ")[2] if room > 0 else ""
    return f"{last} {question}".strip()
