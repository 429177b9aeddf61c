"""Any OpenAI-compatible chat server (vLLM, llama.cpp's llama-server, OpenAI itself) over HTTP.

Synchronous httpx, streamed Server-Sent Events from `POST {base_url}/chat/completions`. A
`base_url` without a path gets `/v1` (so `http://127.0.0.1:8080` works), one with a path is
used as given (`https://host/api/v1`), as the OpenAI SDK does.

Every failure becomes a domain error the API can render: no connection, a refused key, a 5xx
or a stream that is not what the protocol says -> GeneratorUnavailable; time running out ->
GeneratorTimeout. The deadline is checked at every streamed line, and one socket read never
waits longer than the whole `timeout_s`, so a server that stalls mid-answer is given up on
after at most twice `timeout_s`; one that streams is cut exactly at `timeout_s`.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterable, Iterator
from typing import Any

import httpx

from rag.errors import GeneratorTimeout, GeneratorUnavailable
from rag.generators.base import GenerationRequest

DEFAULT_CONNECT_TIMEOUT_S = 5.0
_ERROR_BODY_LIMIT = 64 * 1024


def response_format(schema: dict[str, Any]) -> dict[str, Any]:
    """The OpenAI `response_format` that constrains output to `schema`."""
    return {
        "type": "json_schema",
        "json_schema": {"name": _schema_name(schema), "schema": schema, "strict": True},
    }


def token_logprobs(choice: dict[str, Any]) -> list[float]:
    """The log-probabilities of the tokens a streamed choice carries (OpenAI's
    `logprobs.content`); none where the server sends none."""
    content = (choice.get("logprobs") or {}).get("content") or []
    return [float(t["logprob"]) for t in content if isinstance(t, dict) and "logprob" in t]


def error_message(payload: Any) -> str:
    """The human part of an OpenAI-style error body: `{"error": {"message": ...}}` or looser."""
    error = payload.get("error", payload) if isinstance(payload, dict) else payload
    if isinstance(error, dict):
        return str(error.get("message") or json.dumps(error)[:300])
    return str(error)[:300]


class OpenAIGenerator:
    """Chat completions from the server at `base_url`, as `model`, with an optional API key."""

    name = "openai"
    supports_json_schema = True
    uses_llm = True

    def __init__(
        self,
        base_url: str,
        model: str,
        api_key: str | None = None,
        *,
        connect_timeout_s: float = DEFAULT_CONNECT_TIMEOUT_S,
    ) -> None:
        self.base_url = _api_root(base_url)
        self.model_id = model
        self._connect_timeout_s = connect_timeout_s
        headers = {"Accept": "text/event-stream"}
        if api_key:
            headers["Authorization"] = f"Bearer {api_key}"
        self._client = httpx.Client(base_url=self.base_url, headers=headers)

    def stream(self, request: GenerationRequest) -> Iterator[str]:
        """Yield text deltas; raise GeneratorUnavailable / GeneratorTimeout, never hang."""
        deadline = time.monotonic() + request.timeout_s
        timeout = httpx.Timeout(
            request.timeout_s, connect=min(self._connect_timeout_s, request.timeout_s)
        )
        try:
            with self._client.stream(
                "POST", "/chat/completions", json=self._body(request), timeout=timeout
            ) as response:
                self._check_response(response)
                if _is_event_stream(response):
                    yield from self._deltas(response, deadline, request)
                else:  # a server that ignored "stream": accept one whole answer
                    yield _whole_answer(response)
        except httpx.ConnectTimeout:
            raise GeneratorUnavailable(
                f"{self.base_url} did not accept a connection within "
                f"{min(self._connect_timeout_s, request.timeout_s):g}s"
            ) from None
        except httpx.ConnectError as exc:
            raise GeneratorUnavailable(f"cannot connect to {self.base_url}: {exc}") from None
        except httpx.TimeoutException:
            raise self._timeout(request.timeout_s) from None
        except httpx.HTTPError as exc:
            raise GeneratorUnavailable(
                f"connection to {self.base_url} broke during the request: {exc!r}"
            ) from None

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> OpenAIGenerator:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"OpenAIGenerator(base_url={self.base_url!r}, model_id={self.model_id!r})"

    # --- helpers ----------------------------------------------------------------------------
    def _body(self, request: GenerationRequest) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.model_id,
            "messages": request.messages,
            "max_tokens": request.max_tokens,
            "temperature": request.temperature,
            "stream": True,
        }
        if request.stop:
            body["stop"] = list(request.stop)
        if request.json_schema is not None:
            body["response_format"] = response_format(request.json_schema)
        if request.logprobs:
            body["logprobs"] = True
        return body

    def _check_response(self, response: httpx.Response) -> None:
        if response.status_code < 400:
            return
        detail = _error_detail(response)
        status = response.status_code
        if status in (401, 403):
            raise GeneratorUnavailable(f"{self.base_url} refused our API key ({status}): {detail}")
        if status in (408, 504):
            raise GeneratorTimeout(f"{self.base_url} timed out ({status}): {detail}")
        kind = "failed" if status >= 500 else "rejected the request"
        raise GeneratorUnavailable(f"{self.base_url} {kind} ({status}): {detail}")

    def _deltas(
        self, response: httpx.Response, deadline: float, request: GenerationRequest
    ) -> Iterator[str]:
        timeout_s = request.timeout_s
        finished = False
        for data in _sse_data(response.iter_lines()):
            if time.monotonic() > deadline:
                raise self._timeout(timeout_s)
            if data == "[DONE]":
                return
            choices = _parse_chunk(data, self.base_url)
            if not choices:  # e.g. a final usage-only chunk
                continue
            if request.logprobs:
                request.token_logprobs.extend(token_logprobs(choices[0]))
            if content := (choices[0].get("delta") or {}).get("content"):
                yield content
            finished = finished or bool(choices[0].get("finish_reason"))
        if not finished:
            raise GeneratorUnavailable(
                f"the stream from {self.base_url} ended before the answer did"
            )

    def _timeout(self, timeout_s: float) -> GeneratorTimeout:
        return GeneratorTimeout(
            f"{self.model_id} at {self.base_url} gave no complete answer within {timeout_s:g}s"
        )


def _api_root(base_url: str) -> str:
    url = httpx.URL(base_url.strip())
    if url.scheme not in ("http", "https") or not url.host:
        raise GeneratorUnavailable(f"openai base_url {base_url!r} is not an http(s) URL")
    path = url.path.rstrip("/")
    return str(url.copy_with(path=path or "/v1")).rstrip("/")


def _schema_name(schema: dict[str, Any]) -> str:
    # OpenAI requires a name matching [a-zA-Z0-9_-]{1,64}.
    title = schema.get("title")
    if isinstance(title, str) and title.strip():
        return re.sub(r"[^a-zA-Z0-9_-]", "_", title.strip())[:64]
    return "response"


def _is_event_stream(response: httpx.Response) -> bool:
    return "text/event-stream" in response.headers.get("content-type", "")


def _error_detail(response: httpx.Response) -> str:
    raw = b""
    for piece in response.iter_bytes():
        raw += piece
        if len(raw) >= _ERROR_BODY_LIMIT:
            break
    text = raw.decode("utf-8", "replace")
    try:
        return error_message(json.loads(text))
    except ValueError:
        return text.strip()[:300] or response.reason_phrase


def _sse_data(lines: Iterable[str]) -> Iterator[str]:
    """The `data` of each Server-Sent Event (several `data:` lines joined by newlines)."""
    buffer: list[str] = []
    for line in lines:
        if not line:  # a blank line ends an event
            if buffer:
                yield "\n".join(buffer)
                buffer = []
        elif line.startswith("data:"):
            buffer.append(line[5:].removeprefix(" "))
        # comments (":...") and other fields (event:, id:, retry:) carry nothing we use
    if buffer:
        yield "\n".join(buffer)


def _parse_chunk(data: str, base_url: str) -> list[dict[str, Any]]:
    """The `choices` of one streamed chunk; GeneratorUnavailable for anything else."""
    try:
        chunk = json.loads(data)
    except ValueError:
        raise GeneratorUnavailable(
            f"{base_url} sent a stream line that is not JSON: {data[:120]!r}"
        ) from None
    if not isinstance(chunk, dict):
        raise GeneratorUnavailable(f"{base_url} sent a malformed chunk: {data[:120]!r}")
    if "error" in chunk:
        raise GeneratorUnavailable(f"{base_url} failed mid-answer: {error_message(chunk)}")
    choices = chunk.get("choices")
    if not isinstance(choices, list) or not all(isinstance(c, dict) for c in choices):
        raise GeneratorUnavailable(f"{base_url} sent a chunk without choices: {data[:120]!r}")
    return choices


def _whole_answer(response: httpx.Response) -> str:
    response.read()
    try:
        return response.json()["choices"][0]["message"]["content"] or ""
    except (ValueError, KeyError, IndexError, TypeError):
        raise GeneratorUnavailable(
            f"expected an event stream or a chat completion, got "
            f"{response.headers.get('content-type', 'no content type')}"
        ) from None
