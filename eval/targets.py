"""What an evaluation asks: a Desk in this process, or a running Newsdesk server over HTTP.

Both answer through the code path of `POST /v1/ask` (`Desk.answerer(index, backend).answer`)
and record the top-k retrieval (`Desk.search`, `POST /v1/search`) beside each answer. A domain
error on one question (a question in another language, a generator timeout) is returned as
`QuestionFailed` for that question; a target that cannot be reached stops the run.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from eval.errors import EvalError
from rag.errors import NewsdeskError


class QuestionFailed(Exception):
    """One question ended in a domain error; the run goes on."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(f"{name}: {message}")
        self.text = f"{name}: {message}"


@dataclass
class Asked:
    answer: dict[str, Any]  # the answer object, as /v1/ask returns it
    client_ms: float  # wall time of the answer call, as the caller saw it


class Target(Protocol):
    def warm_up(self) -> None: ...
    def ask(self, question: str) -> Asked: ...
    def search(self, question: str, k: int) -> list[dict[str, Any]]: ...
    def present(self, article_ids: Iterable[str]) -> set[str]: ...
    def fingerprint(self) -> dict[str, Any]: ...


class LocalTarget:
    """A Desk in this process: the same Answerer the API builds per request."""

    def __init__(self, desk: Any, index: str, backend: str | None) -> None:
        self.desk = desk
        self.index = index
        self.backend = backend

    def warm_up(self) -> None:
        # Open the index and load the embedder and BM25 before the clock starts, so the first
        # question's latency is not the model load.
        self.desk.search("warm up", 1, index=self.index)
        self.desk.generator(self.backend)

    def ask(self, question: str) -> Asked:
        started = time.perf_counter()
        try:
            answer = self.desk.answerer(self.index, self.backend).answer(question)
        except NewsdeskError as exc:
            raise QuestionFailed(exc.name, exc.message) from None
        return Asked(answer.to_json(), round((time.perf_counter() - started) * 1000, 1))

    def search(self, question: str, k: int) -> list[dict[str, Any]]:
        try:
            return [h.to_json() for h in self.desk.search(question, k, index=self.index)]
        except NewsdeskError as exc:
            raise QuestionFailed(exc.name, exc.message) from None

    def present(self, article_ids: Iterable[str]) -> set[str]:
        ids = list(dict.fromkeys(article_ids))
        return set(self.desk.index(self.index).article_hashes(ids)) if ids else set()

    def fingerprint(self) -> dict[str, Any]:
        index = self.desk.index(self.index)
        generator = self.desk.generator(self.backend)
        return {
            "index": {**index.stats(), "generation": index.generation},
            "generator": {"backend": generator.name, "model": generator.model_id},
        }


class HttpTarget:
    """A running server: POST {url}/v1/ask and /v1/search, GET /v1/articles/{id}."""

    def __init__(
        self, url: str, index: str | None, backend: str | None, timeout_s: float = 300.0
    ) -> None:
        import httpx

        self.url = url.rstrip("/")
        self.index = index
        self.backend = backend
        self.client = httpx.Client(base_url=self.url, timeout=timeout_s)

    def _post(self, path: str, body: dict[str, Any]) -> Any:
        import httpx

        payload = {k: v for k, v in body.items() if v is not None}
        try:
            response = self.client.post(path, json=payload)
        except httpx.HTTPError as exc:
            raise EvalError(f"the server at {self.url} does not answer: {exc}") from None
        if response.status_code >= 400:
            try:
                error = response.json()
                raise QuestionFailed(str(error["error"]), str(error["message"]))
            except (ValueError, KeyError, TypeError):
                raise QuestionFailed(f"HTTP{response.status_code}", response.text[:200]) from None
        return response.json()

    def warm_up(self) -> None:
        self._post("/v1/search", {"question": "warm up", "k": 1, "index": self.index})

    def ask(self, question: str) -> Asked:
        started = time.perf_counter()
        body = {"question": question, "index": self.index, "backend": self.backend}
        answer = self._post("/v1/ask", body)
        return Asked(answer, round((time.perf_counter() - started) * 1000, 1))

    def search(self, question: str, k: int) -> list[dict[str, Any]]:
        return self._post("/v1/search", {"question": question, "k": k, "index": self.index})["hits"]

    def present(self, article_ids: Iterable[str]) -> set[str]:
        import httpx

        found = set()
        params = {"index": self.index} if self.index else {}
        for article_id in dict.fromkeys(article_ids):
            try:
                response = self.client.get(f"/v1/articles/{article_id}", params=params)
            except httpx.HTTPError as exc:
                raise EvalError(f"the server at {self.url} does not answer: {exc}") from None
            if response.status_code == 200:
                found.add(article_id)
        return found

    def fingerprint(self) -> dict[str, Any]:
        import httpx

        try:
            ready = self.client.get("/readyz").json()
        except (httpx.HTTPError, ValueError):
            ready = {}
        # /readyz describes the server's default index and generator; a request may name others.
        return {"url": self.url, "server": {k: v for k, v in ready.items() if k != "status"}}
