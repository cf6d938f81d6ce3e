"""GET /v1/model, /health, /ready, /metrics: what is served and how the server is doing."""

from __future__ import annotations

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from sftops.dburl import scrub
from sftops.inference import TaggerRuntime

from ..schemas import HealthResponse, ModelResponse, ReadyResponse
from ..state import StateDep

router = APIRouter(tags=["model"])


@router.get("/v1/model", response_model=ModelResponse)
async def model_info(state: StateDep) -> ModelResponse:
    """The served version, its MLflow run, data hash and metrics; its task (and for NER its entity types)."""
    model = state.model()
    runtime = model.runtime
    return ModelResponse(
        **model.info.model_dump(), task=runtime.task, labels=runtime.labels,
        entity_types=list(runtime.entity_types) if isinstance(runtime, TaggerRuntime) else [],
        max_length=runtime.max_length, variant=runtime.variant, provider=runtime.provider,
    )


@router.get("/health", response_model=HealthResponse)
async def health(state: StateDep) -> HealthResponse:
    """Liveness: always 200 while the process runs; `degraded` when it serves a cached model or a new version failed to load."""
    store = state.store
    last_error = scrub(store.last_error) if store.last_error else None  # errors may quote the tracking URI
    if not store.ready:
        return HealthResponse(status="loading", detail=last_error, queue_depth=state.batcher.depth)
    current = store.current
    info = current.info
    problems = store.problems  # a cached model at start, a new version that failed to load
    return HealthResponse(
        status="degraded" if problems else "ok", model=info.name, version=info.version, task=current.runtime.task,
        detail=scrub(problems) if problems else None, registry_error=last_error, queue_depth=state.batcher.depth,
    )


@router.get("/ready", response_model=ReadyResponse, responses={503: {"model": ReadyResponse}})
async def ready(state: StateDep, response: Response) -> ReadyResponse:
    """200 once a model is loaded, 503 before."""
    if not state.store.ready:
        response.status_code = 503
        return ReadyResponse(ready=False)
    return ReadyResponse(ready=True, version=state.store.current.info.version)


@router.get("/metrics", response_class=Response, responses={200: {"content": {CONTENT_TYPE_LATEST: {}}}})
async def metrics(state: StateDep) -> Response:
    """Prometheus metrics."""
    state.monitor.poll_status()  # the retrain and alarm gauges come from files and the journal, read off the loop
    return Response(generate_latest(state.metrics.registry), media_type=CONTENT_TYPE_LATEST)
