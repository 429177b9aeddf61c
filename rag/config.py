"""One settings object for the whole service, read from `NEWSDESK_*` environment variables.

Library code receives a `Settings` and never reads the environment itself.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator
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
        0, ge=0, le=256, description="torch threads for embedding; 0 = one per core."
    )
    chunk_max_tokens: int = Field(
        160, ge=16, le=256, description="Token budget of one chunk (the embedder's tokens)."
    )
    chunk_overlap_sentences: int = Field(1, ge=0, le=8)
    max_article_chars: int = Field(2_000_000, ge=1_000)
    write_batch: int = Field(256, ge=1, description="Chunks written to Chroma per call.")

    # --- retrieval ---
    retrieve_k: int = Field(10, ge=1, le=100)
    candidates: int = Field(50, ge=1, le=1000, description="Dense and BM25 candidates to fuse.")
    rrf_k: int = Field(60, ge=1, description="Reciprocal rank fusion constant.")

    @field_validator("default_index")
    @classmethod
    def _index_name(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("default_index must not be empty")
        return value


def get_settings() -> Settings:
    return Settings()
