"""Everything a request handler needs, built once per app: settings, model store, batcher, metrics, feedback."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request

from sftops.feedback import FeedbackStore
from sftops.inference import Prediction, TaggedText
from sftops.registry import ResolvedModel

from .batcher import Batcher
from .metrics import ServingMetrics
from .model_store import LoadedModel, ModelStore
from .monitor import ServingMonitor
from .settings import ServeSettings

Answer = tuple[Prediction | TaggedText, ResolvedModel]  # a classifier's or a tagger's answer, and who gave it


@dataclass
class ServingState:
    settings: ServeSettings
    store: ModelStore
    batcher: Batcher[str, Answer]
    metrics: ServingMetrics
    feedback: FeedbackStore
    monitor: ServingMonitor

    def model(self) -> LoadedModel:
        """The served model, or 503 while none is loaded."""
        if not self.store.ready:
            raise HTTPException(503, "no model loaded yet; retry when GET /ready answers 200", headers={"Retry-After": "2"})
        return self.store.current


def infer_with(
    store: ModelStore, metrics: ServingMetrics, monitor: ServingMonitor | None = None
) -> Callable[[list[str]], list[Answer]]:
    """The batch function: run texts through the model current when the batch starts (whatever its task), count
    what it answered, feed the drift window."""

    def infer(texts: list[str]) -> list[Answer]:
        model = store.current  # read once: a swap during this batch does not affect it
        predictions = model.runtime.predict(texts)
        for p in predictions:
            if isinstance(p, TaggedText):
                for entity in p.entities:
                    metrics.entities.labels(type=entity.type).inc()
            else:
                metrics.predictions.labels(label=p.label).inc()
        if monitor is not None:  # runs in the batch worker thread, off the event loop
            monitor.observe_predictions(predictions, version=model.info.version)
        return [(p, model.info) for p in predictions]

    return infer


async def get_state(request: Request) -> ServingState:
    # async on purpose: FastAPI runs a plain `def` dependency in the thread pool, one thread hop
    # per request, which under load queues behind the ONNX Runtime threads for the CPU
    return request.app.state.serving


StateDep = Annotated[ServingState, Depends(get_state)]
