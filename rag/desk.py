"""The front door of the library: one `Desk` per process holds the embedder and open indexes.

The CLI, the HTTP app and the evaluation runner all go through a Desk, so they run the same
code path. Building one is cheap; the embedder loads on first use.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import cast

from rag.answering.answer import Answer, Answerer, prime
from rag.answering.part_search import read_search
from rag.config import Settings
from rag.generators.base import Generator
from rag.ingestion.articles import load_articles
from rag.ingestion.ingest import IngestReport, Progress, ingest
from rag.retrieval.retrieve import Retriever
from rag.slots import Slots
from rag.store.embedding import Embedder, create_embedder, embedder_class
from rag.store.folders import drop_index
from rag.store.index import Index
from rag.types import Article, Filters, Hit


class Desk:
    def __init__(self, settings: Settings, embedder: Embedder | None = None) -> None:
        self.settings = settings
        self._embedder = embedder
        self._retrievers: dict[str, Retriever] = {}
        self._generators: dict[str, Generator] = {}
        self.slots = Slots(settings.generator_slots, settings.generator_queue)
        self._lock = threading.RLock()  # the caches of embedder, indexes and generators
        self._write = threading.Lock()  # one write at a time; searches do not wait for it

    @property
    def embedder(self) -> Embedder:
        with self._lock:
            if self._embedder is None:
                self._embedder = create_embedder(
                    self.settings.embedder,
                    batch_size=self.settings.embed_batch_size,
                    threads=self.settings.embed_threads,
                    int8_queries=self.settings.embed_int8_queries,
                )
            return self._embedder

    def _key(self, name: str | None) -> str:
        return name or self.settings.default_index

    def retriever(self, name: str | None = None, create: bool = False) -> Retriever:
        key = self._key(name)
        with self._lock:
            if key not in self._retrievers:
                # Open (and so check) the index before paying for the model.
                spec = cast(Embedder, self._embedder or embedder_class(self.settings.embedder))
                index = Index.open(self.settings, key, spec.name, spec.dim, create=create)
                self._retrievers[key] = Retriever(index, self.embedder, self.settings)
            return self._retrievers[key]

    def index(self, name: str | None = None) -> Index:
        return self.retriever(name).index

    def ingest_articles(
        self, articles: Sequence[Article], name: str | None = None, progress: Progress | None = None
    ) -> IngestReport:
        # Validation happened before this point, so an index is created only for good input.
        retriever = self.retriever(name, create=True)
        embedder = self.embedder
        with self._write:
            return ingest(articles, retriever.index, embedder, self.settings, progress)

    def ingest_paths(
        self, paths: Sequence[Path], name: str | None = None, progress: Progress | None = None
    ) -> IngestReport:
        articles = load_articles(paths, self.settings.max_article_chars)
        return self.ingest_articles(articles, name, progress)

    def search(
        self,
        question: str,
        k: int | None = None,
        filters: Filters | None = None,
        index: str | None = None,
    ) -> list[Hit]:
        """The request's filters, where it gives any, decide; else the question is read for the
        outlets and dates it names (`rag.answering.part_search.read_search`), as the answer
        reads it."""
        if filters:
            return self.retriever(index).search(question, k, filters)
        return read_search(self.retriever(index), question, k)

    def delete_article(self, article_id: str, index: str | None = None) -> None:
        retriever = self.retriever(index)
        with self._write, retriever.index.writing():
            retriever.index.delete_article(article_id)

    def generator(self, backend: str | None = None) -> Generator:
        """One generator per backend name, built on first use (the LLM loads here and reads
        the answer instructions into its prompt cache)."""
        from rag.generators import registry

        name = backend or self.settings.generator_backend
        with self._lock:
            if name not in self._generators:
                settings = self.settings.model_copy(update={"generator_backend": name})
                generator = registry.create_from_settings(settings)
                prime(generator)
                self._generators[name] = generator
            return self._generators[name]

    def answerer(self, index: str | None = None, backend: str | None = None) -> Answerer:
        return Answerer(self.retriever(index), self.generator(backend), self.settings, self.slots)

    def answer(
        self,
        question: str,
        history: Sequence[dict[str, str]] = (),
        filters: Filters | None = None,
        index: str | None = None,
        backend: str | None = None,
        now: datetime | None = None,
    ) -> Answer:
        return self.answerer(index, backend).answer(question, history, filters=filters, now=now)

    def close(self) -> None:
        with self._lock:
            for generator in self._generators.values():
                generator.close()
            self._generators.clear()

    def drop(self, name: str) -> None:
        with self._lock:
            self._retrievers.pop(name, None)
            drop_index(self.settings, name)
