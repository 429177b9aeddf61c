"""Generator backends by name: `create("llamacpp", model="qwen0.5b")`, `create("openai", ...)`.

A factory is any callable taking keyword arguments and returning a `Generator`. The built-in
factories import their backend module only when called, so importing this module (or
`rag.generators`) loads no model and not even llama.cpp's library.

`create_from_settings(settings)` builds the configured backend from a settings object; each
backend says which of its keyword arguments come from which setting.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rag.errors import GeneratorUnavailable, UnknownBackend
from rag.generators.base import Generator

Factory = Callable[..., Generator]
SettingsKwargs = Callable[[Any], dict[str, Any]]


@dataclass(frozen=True)
class _Backend:
    factory: Factory
    settings_kwargs: SettingsKwargs


_BACKENDS: dict[str, _Backend] = {}


def register(
    name: str,
    factory: Factory,
    *,
    settings_kwargs: SettingsKwargs | None = None,
    replace: bool = False,
) -> None:
    """Make `factory` available as `name`; `settings_kwargs(settings)` gives its arguments."""
    if not name or not name.strip():
        raise ValueError("a generator backend needs a name")
    if name in _BACKENDS and not replace:
        raise ValueError(f"generator backend {name!r} is already registered")
    _BACKENDS[name] = _Backend(factory, settings_kwargs or (lambda settings: {}))


def names() -> list[str]:
    return sorted(_BACKENDS)


def create(name: str, **kwargs: Any) -> Generator:
    """A new generator of backend `name`; UnknownBackend lists the valid names."""
    return _backend(name).factory(**kwargs)


def create_from_settings(settings: Any) -> Generator:
    """The backend `settings.generator_backend`, configured from the same settings."""
    backend = _backend(settings.generator_backend)
    return backend.factory(**backend.settings_kwargs(settings))


def _backend(name: str) -> _Backend:
    try:
        return _BACKENDS[name]
    except KeyError:
        raise UnknownBackend(
            f"unknown generator backend {name!r}; valid: {', '.join(names())}"
        ) from None


# --- built-in backends -----------------------------------------------------------------------
def _llamacpp(**kwargs: Any) -> Generator:
    from rag.generators.llamacpp import LlamaCppGenerator

    return LlamaCppGenerator(**kwargs)


def _llamacpp_settings(settings: Any) -> dict[str, Any]:
    model = settings.llm_gguf_path or settings.llm_profile  # a path, when given, wins
    return {
        "model": model,
        "cache_dir": settings.model_cache_dir,
        "n_ctx": settings.llm_n_ctx,
        "n_threads": settings.llm_threads,
        "cache_ram_mib": settings.llm_cache_ram_mib,
    }


def _openai(**kwargs: Any) -> Generator:
    from rag.generators.openai import OpenAIGenerator

    return OpenAIGenerator(**kwargs)


def _openai_settings(settings: Any) -> dict[str, Any]:
    api_key = settings.openai_api_key
    if hasattr(api_key, "get_secret_value"):  # pydantic SecretStr
        api_key = api_key.get_secret_value()
    if not settings.openai_base_url:
        raise GeneratorUnavailable(
            "generator backend 'openai' is not configured: set openai_base_url"
        )
    return {
        "base_url": settings.openai_base_url,
        "model": settings.openai_model,
        "api_key": api_key,
    }


def _extractive(**kwargs: Any) -> Generator:
    from rag.generators.extractive import ExtractiveGenerator

    return ExtractiveGenerator(**kwargs)


register("llamacpp", _llamacpp, settings_kwargs=_llamacpp_settings)
register("openai", _openai, settings_kwargs=_openai_settings)
register(
    "extractive",
    _extractive,
    settings_kwargs=lambda settings: {"sentences": settings.extractive_sentences},
)
