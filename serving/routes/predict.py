"""POST /v1/predict: classify texts, or find their entities, through the micro-batcher."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request
from starlette.concurrency import run_in_threadpool

from sftops.inference import Prediction, TaggedText
from sftops.registry import ResolvedModel

from ..schemas import EntitySpan, ErrorResponse, PredictRequest, PredictResponse, TextEntities, TextPrediction
from ..state import ServingState

router = APIRouter(prefix="/v1", tags=["predict"])

_ERRORS: dict[int | str, dict[str, Any]] = {
    413: {"model": ErrorResponse, "description": "a text is over the model's max_length (serve.on_too_long: reject)"},
    422: {"model": ErrorResponse, "description": "malformed request"},
    503: {"model": ErrorResponse, "description": "queue full or no model loaded; see Retry-After"},
    504: {"model": ErrorResponse, "description": "not answered within serve.request_timeout_s"},
}


def _answer(p: Prediction | TaggedText, info: ResolvedModel) -> TextPrediction | TextEntities:
    if isinstance(p, TaggedText):
        return TextEntities(
            entities=[EntitySpan(text=e.text, type=e.type, start=e.start, end=e.end, score=e.score) for e in p.entities],
            truncated=p.truncated, model=info.name, version=info.version,
        )
    return TextPrediction(
        label=p.label, score=p.score, probabilities=p.probabilities, truncated=p.truncated,
        model=info.name, version=info.version,
    )


@router.post("/predict", response_model=PredictResponse, responses=_ERRORS)
async def predict(body: PredictRequest, request: Request) -> PredictResponse:
    """Per text, with the model version that answered: from a classifier its label, score and class probabilities;
    from a token-classification (NER) model its entities, as character spans of the text sent."""
    state: ServingState = request.app.state.serving  # not StateDep: one dependency solve less per request
    texts = body.items
    limit = state.settings.max_texts
    if len(texts) > limit:
        raise HTTPException(422, f"{len(texts)} texts in one request; at most {limit} (serve.max_texts) are allowed")
    model = state.model()
    if state.settings.on_too_long == "reject":
        counts = await run_in_threadpool(model.runtime.count_tokens, texts)
        over = [f"texts[{i}] has {n} tokens" for i, n in enumerate(counts) if n > model.runtime.max_length]
        if over:
            raise HTTPException(413, f"{'; '.join(over[:5])}; the model reads at most {model.runtime.max_length}")
    answers = await state.batcher.run(texts, state.settings.request_timeout_s)
    return PredictResponse(predictions=[_answer(p, info) for p, info in answers])
