"""Where indexes live: an index name or folder resolved to a Chroma client (a folder under
`index_dir`, or a Chroma server when settings.chroma_host is set), the folder of its lexical
index, listing the indexes of a folder and dropping one. `rag.store.index` opens what this returns.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

from rag.config import Settings
from rag.errors import (
    ChunkSettingsMismatch,
    CorruptIndex,
    EmbedderMismatch,
    IndexUnavailable,
    NotAnIndex,
    UnknownIndex,
)
from rag.types import CHUNKER_VERSION

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$")
INDEX_FORMAT = 1
CHUNK_SETTINGS = ("chunk_max_tokens", "chunk_overlap_sentences")


def chroma_error(exc: Exception, location: str) -> Exception:
    text = str(exc)
    if any(s in text for s in ("Connection", "connect", "timed out", "Could not")):
        return IndexUnavailable(
            f"Chroma at {location} does not answer: {text}",
            public="the index store does not answer",
        )
    return CorruptIndex(
        f"index at {location} cannot be read ({type(exc).__name__}: {text})",
        public="the index cannot be read",
    )


def resolve_path(settings: Settings, name_or_path: str) -> tuple[str, Path]:
    """`--index` takes a name under settings.index_dir or a path to an index folder."""
    if NAME.match(name_or_path):
        return name_or_path, settings.index_dir / name_or_path
    path = Path(name_or_path).expanduser()
    if path.name and NAME.match(path.name) and ("/" in name_or_path or name_or_path[0] == "."):
        return path.name, path
    raise UnknownIndex(
        f"{name_or_path!r} is neither an index name (letters, digits, '-', '_') nor a path"
    )


def lexical_path(settings: Settings, name: str, location: str) -> Path:
    if settings.chroma_host is None:
        return Path(location) / "lexical"
    return settings.index_dir / ".lexical" / name


def connect(settings: Settings, name_or_path: str, create: bool) -> tuple[str, str, Any]:
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False)
    if settings.chroma_host is not None:
        if not NAME.match(name_or_path):
            raise UnknownIndex(f"{name_or_path!r} is not an index name on a Chroma server")
        location = f"http://{settings.chroma_host}:{settings.chroma_port}"
        try:
            client = chromadb.HttpClient(
                host=settings.chroma_host, port=settings.chroma_port, settings=chroma_settings
            )
        except Exception as exc:
            raise IndexUnavailable(
                f"Chroma at {location} does not answer: {exc}",
                public="the index store does not answer",
            ) from exc
        return name_or_path, location, client

    name, path = resolve_path(settings, name_or_path)
    if not path.exists() and not create:
        known = ", ".join(list_indexes(settings)) or "none yet"
        raise UnknownIndex(
            f"no index {name!r} at {path} (indexes: {known}); build it with "
            f"newsdesk ingest PATH... --index {name_or_path}",
            public=f"no index {name!r}",
        )
    if path.exists() and not (path / "chroma.sqlite3").is_file() and any(path.iterdir()):
        raise CorruptIndex(
            f"{path} is not a Chroma index folder; delete it and ingest again",
            public=f"the index {name!r} cannot be read",
        )
    try:
        client = chromadb.PersistentClient(path=str(path), settings=chroma_settings)
    except Exception as exc:
        raise CorruptIndex(
            f"index at {path} cannot be opened ({exc}); delete it and ingest again",
            public=f"the index {name!r} cannot be read",
        ) from exc
    return name, str(path), client


def list_indexes(settings: Settings) -> list[str]:
    if not settings.index_dir.is_dir():
        return []
    return sorted(p.name for p in settings.index_dir.iterdir() if (p / "chroma.sqlite3").is_file())


def drop_index(settings: Settings, name_or_path: str) -> None:
    """Delete a whole index (embedded: its folder; server: its collections)."""
    if settings.chroma_host is not None:
        name, location, client = connect(settings, name_or_path, create=False)
        found = False
        for suffix in ("chunks", "articles", "writes"):
            try:
                client.delete_collection(f"{name}.{suffix}")
                found = True
            except Exception as exc:
                if type(exc).__name__ != "NotFoundError":
                    raise chroma_error(exc, location) from exc
        if not found:
            raise UnknownIndex(f"no index {name!r} on the Chroma server {location}")
        shutil.rmtree(lexical_path(settings, name, location), ignore_errors=True)
        return
    name, path = resolve_path(settings, name_or_path)
    if not path.exists():
        raise UnknownIndex(f"no index {name!r} at {path}")
    if not (path / "chroma.sqlite3").is_file() and any(path.iterdir()):
        raise NotAnIndex(f"{path} holds no Chroma index (no chroma.sqlite3); nothing was deleted")
    from chromadb.api.client import SharedSystemClient

    # Chroma caches one client per path in-process; forget it before the folder goes.
    SharedSystemClient.clear_system_cache()
    shutil.rmtree(path)


def open_collections(
    settings: Settings, name_or_path: str, create: bool, embedder: dict[str, Any]
) -> tuple[str, str, Any, tuple[Any, Any, Any]]:
    """An index's name, location, Chroma client and collections (chunks, articles, writes);
    with `create`, made if missing, recording the embedder (`{"embedder", "dim"}`), the
    chunker and the chunk settings they were made with."""
    name, location, client = connect(settings, name_or_path, create)
    prefix = "" if settings.chroma_host is None else f"{name}."
    expected = {
        **embedder,
        "chunker_version": CHUNKER_VERSION,
        "format": INDEX_FORMAT,
    }
    # Recorded when the index is made (an existing collection keeps its metadata).
    chunking = {k: getattr(settings, k) for k in CHUNK_SETTINGS}
    try:
        if create:
            chunks = client.get_or_create_collection(
                f"{prefix}chunks",
                metadata=expected | chunking,
                embedding_function=None,
                configuration={"hnsw": {"space": "cosine"}},
            )
            articles = client.get_or_create_collection(f"{prefix}articles", embedding_function=None)
        else:
            chunks = client.get_collection(f"{prefix}chunks", embedding_function=None)
            articles = client.get_collection(f"{prefix}articles", embedding_function=None)
        # Indexes made before the log have none yet: it starts at their first write.
        writes = client.get_or_create_collection(f"{prefix}writes", embedding_function=None)
    except Exception as exc:
        if type(exc).__name__ == "NotFoundError":
            if settings.chroma_host is None:
                raise CorruptIndex(
                    f"{location} holds no Newsdesk index; delete the folder and ingest again",
                    public=f"the index {name!r} cannot be read",
                ) from exc
            raise UnknownIndex(
                f"no index {name!r} on the Chroma server {location}",
                public=f"no index {name!r}",
            ) from exc
        raise chroma_error(exc, location) from exc
    check_built_with(name, chunks.metadata or {}, expected)
    return name, location, client, (chunks, articles, writes)


def check_built_with(name: str, actual: dict[str, Any], expected: dict[str, Any]) -> None:
    for key in ("embedder", "dim"):
        if actual.get(key) != expected[key]:
            raise EmbedderMismatch(
                f"index {name!r} was built with {actual.get('embedder')} "
                f"(dim {actual.get('dim')}), not {expected['embedder']} (dim {expected['dim']}); "
                f"rebuild it: newsdesk index drop {name} && newsdesk ingest PATH... --index {name}"
            )
    if actual.get("chunker_version") != CHUNKER_VERSION:
        raise EmbedderMismatch(
            f"index {name!r} was chunked by chunker v{actual.get('chunker_version')}, this is "
            f"v{CHUNKER_VERSION}; rebuild it: newsdesk index drop {name} && "
            f"newsdesk ingest PATH... --index {name}"
        )


def check_chunk_settings(name: str, built: dict[str, Any], settings: Settings) -> None:
    """New chunks must be cut like the ones the index holds (`built`: what it records)."""
    differ = {
        k: built[k]
        for k in CHUNK_SETTINGS
        if built.get(k) is not None and built[k] != getattr(settings, k)
    }
    if differ:
        recorded = ", ".join(f"NEWSDESK_{k.upper()}={v}" for k, v in differ.items())
        raise ChunkSettingsMismatch(
            f"index {name!r} was chunked with {recorded}; write to it with those "
            f"settings, or rebuild it: newsdesk index drop {name} && "
            f"newsdesk ingest PATH... --index {name}"
        )
