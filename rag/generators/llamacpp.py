"""In-process llama.cpp generator, through xllamacpp's embedded server.

`xllamacpp.Server` loads the GGUF model and runs llama.cpp's own server engine inside this
process: continuous batching, prompt caching (a request that shares a prefix with the previous
one skips re-reading it) and JSON-schema-constrained sampling. We call it directly with
`handle_chat_completions`; no HTTP is involved on that path.

The server also opens an OpenAI-compatible HTTP listener, always. We bind it to 127.0.0.1 on a
free port and lock it with a random API key; `base_url` and `api_key` are exposed so the same
model can be reached over HTTP (the tests point the openai backend at it).

Timeouts: `handle_chat_completions` blocks until generation ends and can only be stopped
between two streamed chunks (by its callback returning True). So each request runs in a
worker thread that feeds a queue, and the caller's iterator enforces `timeout_s` with queue
timeouts: it never waits past the deadline. A timed-out or abandoned request is flagged and
stops at its next chunk; one still reading its prompt cannot be interrupted (xllamacpp has no
hook for that), so it finishes the prompt in the background and the next request queues
behind it.
"""

from __future__ import annotations

import os
import queue
import secrets
import threading
import time
from collections.abc import Iterator
from typing import Any

import xllamacpp

from rag.errors import GeneratorTimeout, GeneratorUnavailable, ModelFileError
from rag.generators.base import GenerationRequest
from rag.generators.openai import error_message, response_format, token_logprobs
from rag.models import DEFAULT_PROFILE, resolve_model

DEFAULT_N_CTX = 4096
DEFAULT_THREADS = 2
DEFAULT_CACHE_RAM_MIB = 256
_DONE = object()  # the worker's last event


class _Call:
    """One streamed chat completion running in a worker thread; its chunks arrive in a queue."""

    def __init__(self, server: xllamacpp.Server, body: dict[str, Any]) -> None:
        self._events: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._cancelled = threading.Event()
        # Daemon: a call stuck in prompt processing must not keep the interpreter alive.
        self.thread = threading.Thread(
            target=self._run, args=(server, body), name="llamacpp-call", daemon=True
        )

    def start(self) -> None:
        self.thread.start()

    def cancel(self) -> None:
        self._cancelled.set()

    def next_event(self, deadline: float) -> Any:
        """The next chunk, exception or _DONE; queue.Empty once `deadline` has passed."""
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise queue.Empty
        return self._events.get(timeout=remaining)

    def _run(self, server: xllamacpp.Server, body: dict[str, Any]) -> None:
        try:
            server.handle_chat_completions(body, self._on_chunk)
        except Exception as exc:  # llama.cpp raises ValueError for a request it rejects
            self._events.put(exc)
        finally:
            self._events.put(_DONE)

    def _on_chunk(self, chunk: dict[str, Any]) -> bool:
        # Must not raise: xllamacpp swallows callback errors and silently ends the stream.
        if self._cancelled.is_set():
            return True  # tells llama.cpp to stop generating
        self._events.put(chunk)
        return False


class LlamaCppGenerator:
    """A packaged profile ("qwen1.5b", "qwen0.5b") or any GGUF path, served in-process."""

    name = "llamacpp"
    supports_json_schema = True
    supports_prefill = True
    supports_grammar = True
    caches_prompt = True  # a request sharing a prefix with the last one skips reading it
    uses_llm = True

    def __init__(
        self,
        model: str | os.PathLike[str] = DEFAULT_PROFILE,
        *,
        cache_dir: str | os.PathLike[str] | None = None,
        n_ctx: int = DEFAULT_N_CTX,
        n_threads: int = DEFAULT_THREADS,
        cache_ram_mib: int = DEFAULT_CACHE_RAM_MIB,
        verbose: bool = False,
        progress: bool = True,
        close_timeout_s: float = 30.0,
    ) -> None:
        resolved = resolve_model(model, cache_dir, progress=progress)
        self.model_id = resolved.model_id
        self.model_path = resolved.path
        self.n_ctx = n_ctx
        self.api_key = secrets.token_urlsafe(32)
        self._close_timeout_s = close_timeout_s
        self._lock = threading.Lock()
        self._calls: set[_Call] = set()
        self.last_timings: dict[str, Any] | None = None  # llama.cpp's timings of the last request
        params = _server_params(
            self.model_path,
            model_id=self.model_id,
            n_ctx=n_ctx,
            n_threads=n_threads,
            cache_ram_mib=cache_ram_mib,
            api_key=self.api_key,
            verbose=verbose,
        )
        self._server: xllamacpp.Server | None = _start_server(params, self.model_path)
        self.base_url: str = self._server.listening_address

    # --- the Generator protocol -------------------------------------------------------------
    def stream(self, request: GenerationRequest) -> Iterator[str]:
        """Yield text deltas; GeneratorTimeout as soon as `request.timeout_s` has passed."""
        call = self._open_call(_request_body(request))
        deadline = time.monotonic() + request.timeout_s
        try:
            call.start()
            while True:
                try:
                    event = call.next_event(deadline)
                except queue.Empty:
                    raise GeneratorTimeout(
                        f"{self.model_id} gave no complete answer within {request.timeout_s:g}s"
                    ) from None
                if event is _DONE:
                    return
                if isinstance(event, Exception):
                    raise GeneratorUnavailable(
                        f"llama.cpp rejected the request: {event}"
                    ) from event
                if delta := self._delta(event, request):
                    yield delta
        finally:
            self._end_call(call)  # also when the reader stops early or times out

    def close(self) -> None:
        """Stop running calls and the server; its HTTP listener closes with it."""
        with self._lock:
            server, self._server = self._server, None
            calls = list(self._calls)
        if server is None:
            return
        for call in calls:
            call.cancel()
        deadline = time.monotonic() + self._close_timeout_s
        for call in calls:
            call.thread.join(max(0.0, deadline - time.monotonic()))
        # Dropping the last reference runs the C++ destructor: it stops llama.cpp's loop and
        # the listener. A call still reading its prompt holds its own reference; the server
        # then goes when that call ends.
        del server

    def __enter__(self) -> LlamaCppGenerator:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._server is None else self.base_url
        return f"LlamaCppGenerator(model_id={self.model_id!r}, {state})"

    # --- helpers ----------------------------------------------------------------------------
    def _open_call(self, body: dict[str, Any]) -> _Call:
        # Under the lock, so close() either refuses this call or knows to stop it.
        with self._lock:
            if self._server is None:
                raise GeneratorUnavailable(f"the llamacpp generator ({self.model_id}) is closed")
            call = _Call(self._server, body)
            self._calls.add(call)
            return call

    def _end_call(self, call: _Call) -> None:
        call.cancel()  # a no-op for a finished call; stops one whose reader left
        with self._lock:
            self._calls.discard(call)

    def _delta(self, chunk: dict[str, Any], request: GenerationRequest) -> str:
        if "choices" not in chunk:  # an error object instead of a completion chunk
            raise GeneratorUnavailable(f"llama.cpp failed: {error_message(chunk)}")
        if timings := chunk.get("timings"):
            self.last_timings = timings
        choices = chunk["choices"]
        if not choices:
            return ""
        if request.logprobs:
            request.token_logprobs.extend(token_logprobs(choices[0]))
        return (choices[0].get("delta") or {}).get("content") or ""


def _request_body(request: GenerationRequest) -> dict[str, Any]:
    body: dict[str, Any] = {
        "messages": request.messages,
        "max_tokens": request.max_tokens,
        "temperature": request.temperature,
        "stream": True,
        "cache_prompt": True,  # reuse the KV cache of the common prefix with the last request
    }
    if request.stop:
        body["stop"] = list(request.stop)
    if request.logprobs:
        body["logprobs"] = True
    if request.grammar is not None:
        body["grammar"] = request.grammar
    elif request.prefill and request.prefill_grammar:
        # llama.cpp continues a trailing assistant message (prefill_assistant, on by default):
        # the tokens of a fixed opening are read with the prompt instead of generated one by one.
        body["messages"] = [*request.messages, {"role": "assistant", "content": request.prefill}]
        body["grammar"] = request.prefill_grammar
    elif request.json_schema is not None:
        body["response_format"] = response_format(request.json_schema)
    return body


def _server_params(
    path: os.PathLike[str],
    *,
    model_id: str,
    n_ctx: int,
    n_threads: int,
    cache_ram_mib: int,
    api_key: str,
    verbose: bool,
) -> xllamacpp.CommonParams:
    params = xllamacpp.CommonParams()
    params.model.path = str(path)
    params.model_alias = {model_id}  # what /v1/models reports
    params.n_ctx = n_ctx  # 0 would mean the model's 32k: a KV cache we do not need
    params.n_parallel = 1  # on 2 cores parallel slots only split the same CPU time
    params.cpuparams.n_threads = n_threads
    params.cpuparams_batch.n_threads = n_threads
    params.cache_prompt = True
    # No repacked copy of the weights for the CPU's wider kernels: on this 2-core machine it
    # cost 610 MB of resident memory (1.27 -> 1.88 GB) for no gain in prompt or decode speed.
    params.no_extra_bufts = True
    # Saved prompt states in RAM; llama.cpp's default of 8 GiB would grow with every question.
    params.cache_ram_mib = cache_ram_mib
    params.hostnames = ["127.0.0.1"]  # the listener cannot be turned off: keep it local
    params.port = 0  # any free port
    params.api_keys = [api_key]  # and locked; /health stays public
    params.ui = False
    params.offline = True  # never fetch anything
    params.verbosity = 3 if verbose else 0
    return params


def _start_server(params: xllamacpp.CommonParams, path: os.PathLike[str]) -> xllamacpp.Server:
    try:
        return xllamacpp.Server(params)
    except RuntimeError as exc:
        # xllamacpp reports every failed start the same way; with a GGUF header already
        # checked and a free port, it is the model file (truncated, corrupt) or its size.
        raise ModelFileError(
            f"llama.cpp could not load {path}: the file is truncated or corrupt, or the model "
            f"with n_ctx={params.n_ctx} does not fit in memory ({exc})"
        ) from exc
