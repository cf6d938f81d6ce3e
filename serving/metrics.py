"""Prometheus metrics of one server: requests, latency, batch sizes, queue depth, the model version, what it answered."""

from __future__ import annotations

import time
from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
_BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256)


class ServingMetrics:
    """Every metric in its own registry, so several apps (tests) can live in one process."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "sftops_requests_total", "HTTP requests by endpoint and status code", ["endpoint", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "sftops_request_latency_seconds", "HTTP request latency by endpoint and status code",
            ["endpoint", "status"], buckets=_LATENCY_BUCKETS, registry=self.registry,
        )
        self.batch_size = Histogram(
            "sftops_batch_size", "Texts per inference batch", buckets=_BATCH_BUCKETS, registry=self.registry
        )
        self.queue_depth = Gauge("sftops_queue_depth", "Texts waiting for a batch", registry=self.registry)
        self.model_info = Gauge(
            "sftops_model_info", "The served model (value 1)", ["name", "version", "variant", "provider"],
            registry=self.registry,
        )
        self.swaps = Counter("sftops_model_swaps_total", "Model versions swapped in", registry=self.registry)
        self.load_failures = Counter(
            "sftops_model_load_failures_total", "New versions that could not be loaded or warmed up (the old one kept serving)",
            registry=self.registry,
        )
        self.feedback_purged = Counter(
            "sftops_feedback_purged_total", "Feedback rows deleted for being older than serve.feedback_retention_days",
            registry=self.registry,
        )
        self.predictions = Counter(
            "sftops_predictions_total", "Texts classified, by predicted label", ["label"], registry=self.registry
        )
        self.entities = Counter(
            "sftops_entities_total", "Entities found in texts by a token-classification (NER) model, by type", ["type"],
            registry=self.registry,
        )

    def track_queue(self, depth: Callable[[], int]) -> None:
        self.queue_depth.set_function(lambda: float(depth()))

    def set_model(self, name: str, version: str, variant: str, provider: str) -> None:
        self.model_info.clear()
        self.model_info.labels(name=name, version=version, variant=variant, provider=provider).set(1)


class RequestMetrics:
    """ASGI middleware counting requests and timing them by endpoint (known paths only) and status."""

    def __init__(self, app: ASGIApp, metrics: ServingMetrics, endpoints: Callable[[], set[str]]) -> None:
        self.app = app
        self.metrics = metrics
        self._endpoints = endpoints
        self._children: dict[tuple[str, int], tuple[Counter, Histogram]] = {}  # labels() per request: one lookup less

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            path = scope["path"]
            endpoint = path if path in self._endpoints() else "other"
            children = self._children.get((endpoint, status))
            if children is None:
                labels = {"endpoint": endpoint, "status": str(status)}
                children = self._children[endpoint, status] = (
                    self.metrics.requests.labels(**labels), self.metrics.latency.labels(**labels))
            children[0].inc()
            children[1].observe(time.perf_counter() - start)
