"""The generator contract: one required method, `stream`, plus capability attributes.

A generator turns chat messages into text, streamed as deltas. Backends register by name in
`rag.generators.registry`; the answer pipeline never knows which one it has.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

Message = dict[str, str]  # {"role": "system"|"user"|"assistant", "content": "..."}


@dataclass
class GenerationRequest:
    messages: list[Message]
    json_schema: dict[str, Any] | None = None  # constrain output where the backend can
    max_tokens: int = 256
    temperature: float = 0.0
    timeout_s: float = 120.0  # whole request; a backend that exceeds it raises GeneratorTimeout
    stop: list[str] = field(default_factory=list)
    # The reply's known opening. A backend that supports_prefill is given it as the start of
    # its reply, constrained for the rest by `prefill_grammar` (GBNF) instead of json_schema,
    # and streams only what follows it; every other backend ignores both and writes the whole
    # reply. The caller decides which from `supports_prefill`.
    prefill: str = ""
    prefill_grammar: str | None = None
    # A GBNF grammar for the whole reply, for backends that take one (llama.cpp); others
    # ignore it.
    grammar: str | None = None
    # Ask for the generated tokens' log-probabilities; a backend that reports them appends
    # one per generated token to `token_logprobs` (a server without them leaves it empty).
    logprobs: bool = False
    token_logprobs: list[float] = field(default_factory=list)
    # What backends that read the context directly (extractive) use instead of `messages`.
    question: str = ""
    context: list[Any] = field(default_factory=list)  # rag.answering.context.ContextSentence


class Generator(Protocol):
    name: str  # registry name, e.g. "llamacpp"
    model_id: str  # what produced the text, e.g. "qwen2.5-coder-1.5b-instruct-q4_k_m"
    supports_json_schema: bool
    uses_llm: bool  # False for the extractive backend
    # Optional capabilities, read with getattr (absent means False):
    #   supports_prefill - continues GenerationRequest.prefill under prefill_grammar;
    #   supports_grammar - holds its whole reply to GenerationRequest.grammar;
    #   caches_prompt    - a request sharing a prefix with the last one skips reading it, so
    #                      the fixed instructions are worth reading once at load.

    def stream(self, request: GenerationRequest) -> Iterator[str]:
        """Yield text deltas. Raise GeneratorUnavailable / GeneratorTimeout, never hang."""
        ...

    def close(self) -> None: ...
