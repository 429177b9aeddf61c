"""One settings object for the whole service, read from `NEWSDESK_*` environment variables.

Library code receives a `Settings` and never reads the environment itself.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="NEWSDESK_", extra="forbid")

    # --- where indexes live ---
    index_dir: Path = Field(PROJECT_ROOT / "indexes", description="Folder of named indexes.")
    default_index: str = Field("default", description="Index used when a request names none.")
    seeds_dir: Path = Field(PROJECT_ROOT / "seeds", description="Articles of the default index.")
    chroma_host: str | None = Field(
        None, description="Chroma server host; when set, indexes live on that server."
    )
    chroma_port: int = Field(8001, ge=1, le=65535)

    # --- ingest ---
    embedder: str = Field("minilm", description="Registered embedder name.")
    embed_batch_size: int = Field(64, ge=1, le=4096)
    embed_threads: int = Field(
        1,
        ge=0,
        le=256,
        description="torch threads for embedding; 0 = one per core. One keeps queries fast "
        "beside a generator; `newsdesk ingest` uses every core.",
    )
    embed_int8_queries: bool = Field(
        True, description="Embed questions with an int8 copy of the embedder (faster searches)."
    )
    chunk_max_tokens: int = Field(
        200, ge=16, le=256, description="Token budget of one chunk (the embedder's tokens)."
    )
    # No overlap by default: measured on MultiHop-RAG, overlapping neighbours of one article
    # take two of the ten result slots (bench/results/retrieval_quality_grid.md).
    chunk_overlap_sentences: int = Field(0, ge=0, le=8)
    max_article_chars: int = Field(2_000_000, ge=1_000)
    write_batch: int = Field(
        1024, ge=1, description="Chunks embedded (sorted by length) and written per call."
    )

    # --- retrieval ---
    retrieve_k: int = Field(10, ge=1, le=100)
    candidates: int = Field(50, ge=1, le=1000, description="Dense and BM25 candidates to fuse.")
    rrf_k: int = Field(60, ge=1, description="Reciprocal rank fusion constant.")

    # --- answers ---
    generator_backend: str = Field(
        "llamacpp", description="Registered generator: llamacpp, openai or extractive."
    )
    answer_hits: int = Field(8, ge=1, le=50, description="Hits the context is chosen from.")
    context_tokens: int = Field(
        170,
        ge=32,
        le=4000,
        description="Token budget of the context block (sentences, markers, article headers); "
        "chosen by measurement: bench/answer_latency.py and the MultiHop-RAG dev runs "
        "(docs/eval/README.md) at 170 and 200.",
    )
    answer_max_tokens: int = Field(160, ge=16, le=2048)
    short_answers: bool = Field(
        True,
        description="A question asking who, which, what, when or how many is answered by a "
        "language model with the name, time or number alone, located in the sentences it "
        "read (rag/answering/short.py); off: it writes cited claims like any other question.",
    )
    statement_answers: Literal["picked", "claims"] = Field(
        "picked",
        description="A question whose answer is a statement (why, how, what happened) is "
        "answered by the context sentence a language model points to by quoting its opening "
        "(picked, rag/answering/picked.py), or in written claims, each checked (claims).",
    )
    short_context_tokens: int = Field(
        500,
        ge=32,
        le=4000,
        description="Token budget of the context a short answer is read from.",
    )
    short_first_tokens: int = Field(
        170,
        ge=0,
        le=4000,
        description="A short answer is read first from this many tokens of context (the "
        "sentences closest to the question), then, unless that reply is located and at least "
        "`short_first_accept` sure, from the whole `short_context_tokens` as if there had "
        "been no first reading. 0: read the whole context at once. Chosen on the MultiHop-RAG "
        "dev split (docs/eval/README.md): name answers' time p50 5.7 -> 3.2 s, names right 44 "
        "-> 43 of 49 (the one lost read the whole context either way).",
    )
    short_first_accept: float = Field(
        0.8,
        ge=0,
        le=1.01,
        description="The confidence at or above which the first, narrower reading's answer "
        "stands (see short_first_tokens). On dev, first replies located at 0.7 or more were "
        "as often right as the whole context's replies to the same questions.",
    )
    short_abstain_below: float | None = Field(
        None,
        ge=0,
        le=1,
        description="Withhold a short answer whose confidence is below this; unset: the "
        "threshold fitted on dev (rag/answering/confidence_model.json).",
    )
    corroborate_names: bool = Field(
        True,
        description="A name the model replies with gives way to a name of its kind that more "
        "of the articles found name (rag/answering/short.py, `corroborated`).",
    )
    choose_unlocated: bool = Field(
        False,
        description="A short reply that stands in no sentence read, or only repeats the "
        "question, is asked again as a choice among the names (dates, amounts) the sentences "
        'hold, under a grammar, "not stated" among them (rag/answering/short.py, `choices`); '
        "off, or on a backend without grammars: it abstains. Off by default: with the packaged "
        "1.5B it answered 3 of 15 unanswerable dev questions for 1 name more "
        "(docs/eval/README.md).",
    )
    choose_repeats: bool = Field(
        True,
        description="A short reply that only repeats the question (one of its own names) is "
        "asked again as a choice among the names the sentences hold (see choose_unlocated); "
        "a reply that stands nowhere still abstains unless choose_unlocated is on. On the dev "
        "split with the packaged 1.5B: 2 replies asked again, 1 name more, no unanswerable "
        "question answered (docs/eval/README.md).",
    )
    short_cited_articles: int = Field(
        4,
        ge=1,
        le=20,
        description="A short answer cites, from this many articles at most, the sentence of each "
        "that names it and holds most of the question's words "
        "(rag/answering/short.py, `witnesses`).",
    )
    generator_timeout_s: float = Field(120.0, gt=0, description="Whole-request LLM time limit.")
    gate_min_similarity: float = Field(
        0.3, ge=-1, le=1, description="Abstain before the LLM below this best dense similarity"
    )
    gate_min_overlap: float = Field(
        0.5, ge=0, le=1, description="... unless a context sentence holds this share of terms."
    )
    extractive_sentences: int = Field(2, ge=1, le=5)

    # --- the embedded LLM (llamacpp) ---
    llm_profile: str = Field("qwen1.5b", description="Packaged model: qwen1.5b or qwen0.5b.")
    llm_gguf_path: Path | None = Field(None, description="Any GGUF file; wins over the profile.")
    model_cache_dir: Path = Field(
        PROJECT_ROOT / ".cache" / "models", description="Where packaged model parts are joined."
    )
    llm_n_ctx: int = Field(4096, ge=512, le=32768)
    llm_threads: int = Field(2, ge=1, le=256)
    llm_cache_ram_mib: int = Field(
        256,
        ge=0,
        description="RAM for llama.cpp's saved prompt states (0 = off). A follow-up's rewrite "
        "request and the answer after it each find their fixed instructions still read.",
    )

    # --- an OpenAI-compatible server (openai) ---
    openai_base_url: str | None = Field(None, description="e.g. http://127.0.0.1:11434/v1")
    openai_api_key: SecretStr | None = None
    openai_model: str = Field("default")

    # --- feeds and pages (rag/feeds.py) ---
    fetch_timeout_s: float = Field(10.0, gt=0, description="Per request to a feed or page.")
    fetch_max_bytes: int = Field(5_000_000, ge=1024, description="Largest feed or page read.")
    fetch_max_redirects: int = Field(5, ge=0, le=20)
    fetch_host_delay_s: float = Field(
        1.0, ge=0, description="Pause between two requests to a host."
    )
    fetch_allow_networks: list[str] = Field(
        default_factory=list,
        description="Networks (CIDR, JSON list) fetched from besides public addresses, e.g. "
        '["127.0.0.0/8"]; private, loopback and link-local addresses are refused otherwise.',
    )
    fetch_allow_hosts: list[str] = Field(
        default_factory=list,
        description="When set (JSON list), only these host names are fetched from.",
    )
    feed_interval_s: float = Field(300.0, ge=1, description="How often a feed is polled.")
    feed_max_items: int = Field(200, ge=1, description="Newest items read from one poll of a feed.")
    feed_write_batch: int = Field(
        128, ge=1, description="Most pages of a poll written together while the next are read."
    )
    feed_write_wait_s: float = Field(
        1.0,
        ge=0,
        description="Longest a page read in a poll waits for more pages before it is written.",
    )
    watch_feeds: bool = Field(False, description="Run the feed watcher inside the service.")

    # --- the HTTP service ---
    cors_origins: list[str] = Field(
        default_factory=list, description="Origins of pages that embed the widget (JSON list)."
    )
    write_keys: list[SecretStr] = Field(
        default_factory=list,
        description="API keys that may add or delete articles; none set = writes disabled.",
    )
    ask_keys: list[SecretStr] = Field(
        default_factory=list, description="When set, asking needs one of these keys too."
    )
    max_body_bytes: int = Field(8_000_000, ge=1024, description="Largest request body.")
    request_backends: list[str] = Field(
        default_factory=lambda: ["extractive"],
        description="Backends a request may choose besides generator_backend (JSON list); "
        "loading another model is the operator's choice, not a client's.",
    )
    rate_limit: str = Field("120/minute", description="Per API key, else per client address.")
    generator_slots: int = Field(1, ge=1, le=64, description="LLM answers generated at once.")
    generator_queue: int = Field(
        4, ge=0, le=1000, description="Answers that may wait for a slot; more get 503."
    )

    @field_validator("default_index")
    @classmethod
    def _index_name(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("default_index must not be empty")
        return value


def get_settings() -> Settings:
    return Settings()
