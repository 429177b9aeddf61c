"""Prometheus metrics: requests by route and status, latency by route and by answer stage,
and the generator queue. One registry per app, so several apps (tests) never collide."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from fastapi import Request, Response
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from rag.answering.answer_types import Answer

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 40, 80)
STAGES = (
    "rewrite_ms",
    "retrieve_ms",
    "context_ms",
    "queue_ms",
    "ttft_ms",
    "generate_ms",
    "verify_ms",
    "total_ms",
)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "newsdesk_requests_total",
            "HTTP requests",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "newsdesk_request_seconds",
            "HTTP request latency",
            ["route"],
            buckets=BUCKETS,
            registry=self.registry,
        )
        self.stages = Histogram(
            "newsdesk_answer_stage_seconds",
            "Time spent per answer stage",
            ["stage", "backend"],
            buckets=BUCKETS,
            registry=self.registry,
        )
        self.answers = Counter(
            "newsdesk_answers_total",
            "Answers given",
            ["backend", "abstained"],
            registry=self.registry,
        )
        self.queue_waiting = Gauge(
            "newsdesk_generator_queue_waiting",
            "Answers waiting for a generator slot",
            registry=self.registry,
        )
        self.queue_running = Gauge(
            "newsdesk_generator_running", "Answers being generated", registry=self.registry
        )

    def observe_answer(self, answer: Answer) -> None:
        self.answers.labels(answer.backend, str(answer.abstained).lower()).inc()
        for stage in STAGES:
            if stage in answer.timings:
                self.stages.labels(stage[:-3], answer.backend).observe(answer.timings[stage] / 1000)

    async def middleware(
        self, request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        started = time.perf_counter()
        response = await call_next(request)
        route = request.scope.get("route")
        name = getattr(route, "path", "unmatched")
        self.requests.labels(name, request.method, str(response.status_code)).inc()
        self.latency.labels(name).observe(time.perf_counter() - started)
        return response

    def render(self, running: int, waiting: int) -> Response:
        self.queue_running.set(running)
        self.queue_waiting.set(waiting)
        return Response(generate_latest(self.registry), media_type=CONTENT_TYPE_LATEST)
