"""serving/app.py in process (ASGITransport + lifespan): the API contract, validation, feedback, admin, metrics."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
import numpy as np
import pytest
from asgi_lifespan import LifespanManager

from serving.app import create_app
from serving.model_store import ModelRef, ModelStore
from serving.runtime import softmax
from serving.settings import load_settings
from sftops.testing.onnx_fakes import LABELS, expected_logits
from sftops.config import ServeConfig

TOKEN = "s3cret"


def run_app(
    tmp_path: Path, tracking_uri: str, scenario: Callable[[httpx.AsyncClient], Awaitable[None]],
    *, model: str = "tiny-clf", preload: bool = True, **settings: object,
) -> None:
    """Run `scenario` against an in-process app serving `model` from the given registry."""
    serve = load_settings(ServeConfig(), **{
        "cache_dir": str(tmp_path / "cache"), "feedback_db": str(tmp_path / "fb.db"), "admin_token": TOKEN,
        "poll_interval_s": 3600, **settings,
    })
    store = ModelStore(ModelRef.parse(model), tracking_uri=tracking_uri, cache_dir=serve.cache_dir)
    if preload:
        store.load_initial()

    async def main() -> None:
        app = create_app(serve, store)
        async with LifespanManager(app) as manager:
            transport = httpx.ASGITransport(app=manager.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
                await scenario(client)

    asyncio.run(main())


def _ids(text: str) -> list[int]:
    from tokenizers import Tokenizer

    from sftops.defaults import builtin_model_dir

    tok = Tokenizer.from_file(str(builtin_model_dir() / "tokenizer.json"))
    tok.no_padding()
    tok.enable_truncation(16)
    return tok.encode(text).ids


def test_predict_returns_exact_probabilities_and_the_version(registry, tmp_path: Path) -> None:
    texts = ["what a lovely day", "zzz", "I hate waiting in line for hours at the airport"]

    async def scenario(client: httpx.AsyncClient) -> None:
        one = (await client.post("/v1/predict", json={"text": texts[0]})).json()["predictions"]
        many = await client.post("/v1/predict", json={"texts": texts})
        assert many.status_code == 200
        got = many.json()["predictions"]
        assert len(one) == 1 and one[0] == got[0]
        for text, p in zip(texts, got):
            want = softmax(expected_logits(_ids(text)))
            assert (p["model"], p["version"], p["label"]) == ("tiny-clf", "1", LABELS[int(np.argmax(want))])
            assert [p["probabilities"][n] for n in LABELS] == pytest.approx(list(want), abs=1e-6)
            assert p["score"] == pytest.approx(float(want.max()), abs=1e-6)
        info = (await client.get("/v1/model")).json()
        assert (info["version"], info["data_hash"], info["labels"]) == ("1", "abc123", list(LABELS))
        assert info["metrics"]["test_macro_f1"] == pytest.approx(0.5) and info["run_id"]
        assert (await client.get("/ready")).json() == {"ready": True, "version": "1"}
        health = (await client.get("/health")).json()
        assert (health["status"], health["version"], health["detail"]) == ("ok", "1", None)
        metrics = (await client.get("/metrics")).text
        assert 'sftops_requests_total{endpoint="/v1/predict",status="200"} 2.0' in metrics
        assert 'sftops_model_info{name="tiny-clf",provider="CPUExecutionProvider",variant="fp32",version="1"} 1.0' in metrics
        assert "sftops_batch_size_count" in metrics and "sftops_queue_depth 0.0" in metrics

    run_app(tmp_path, registry.uri, scenario)


BAD_BODIES = [
    ({}, 'send exactly one of "text"'),
    ({"text": 5}, "text: Input should be a valid string"),
    ({"text": ""}, "text: String should have at least 1 character"),
    ({"text": "   "}, "text: String should match pattern"),
    ({"texts": []}, "texts: List should have at least 1 item"),
    ({"texts": ["ok", 3]}, "texts.1: Input should be a valid string"),
    ({"texts": "not a list"}, "texts: Input should be a valid list"),
    ({"text": "a", "texts": ["b"]}, 'send exactly one of "text"'),
    ({"text": "a", "extra": 1}, "extra: Extra inputs are not permitted"),
    ({"texts": ["t"] * 5}, "5 texts in one request; at most 4 (serve.max_texts)"),
    ([1, 2], "Input should be a valid dictionary"),
]


def test_bad_input_gets_a_clear_4xx(registry, tmp_path: Path) -> None:
    async def scenario(client: httpx.AsyncClient) -> None:
        for body, message in BAD_BODIES:
            resp = await client.post("/v1/predict", json=body)
            assert resp.status_code == 422 and message in resp.json()["detail"], (body, resp.text)
        raw = {"content-type": "application/json"}
        resp = await client.post("/v1/predict", content=b'{"text": "caf\xe9"}', headers=raw)
        assert resp.status_code == 400 and "not valid UTF-8" in resp.json()["detail"]
        resp = await client.post("/v1/predict", content=b'{"text": ', headers=raw)
        assert resp.status_code == 422 and "not valid JSON" in resp.json()["detail"]
        resp = await client.post("/v1/predict", content=json.dumps({"text": "x" * 3000}), headers=raw)
        assert resp.status_code == 413 and "over the limit of 2000" in resp.json()["detail"]
        resp = await client.post("/v1/predict", content=b"text=hello", headers={"content-type": "text/plain"})
        assert resp.status_code == 415 and "application/json" in resp.json()["detail"]
        resp = await client.post("/v1/predict", json={"text": "word " * 40})
        assert resp.status_code == 413 and "texts[0] has 42 tokens; the model reads at most 16" in resp.json()["detail"]
        assert (await client.post("/v1/predict", json={"text": "short"})).status_code == 200

    run_app(tmp_path, registry.uri, scenario, max_texts=4, max_body_bytes=2000, on_too_long="reject")


def test_too_long_text_is_truncated_by_default(registry, tmp_path: Path) -> None:
    async def scenario(client: httpx.AsyncClient) -> None:
        p = (await client.post("/v1/predict", json={"texts": ["word " * 40, "hi"]})).json()["predictions"]
        assert [x["truncated"] for x in p] == [True, False]

    run_app(tmp_path, registry.uri, scenario)


def test_feedback_is_validated_and_stored_once(registry, tmp_path: Path) -> None:
    async def scenario(client: httpx.AsyncClient) -> None:
        ok = await client.post("/v1/feedback", json={"text": "love it", "label": "positive"})
        again = await client.post("/v1/feedback", json={"text": "love it", "label": "positive"})
        assert (ok.status_code, ok.json(), again.json()) == (200, {"stored": True}, {"stored": False})
        bad = await client.post("/v1/feedback", json={"text": "love it", "label": "happy"})
        assert bad.status_code == 422 and "'happy' is not one of the model's labels" in bad.json()["detail"]
        assert (await client.post("/v1/feedback", json={"text": "", "label": "positive"})).status_code == 422

    run_app(tmp_path, registry.uri, scenario)
    from sftops.feedback import FeedbackStore

    rows = FeedbackStore(tmp_path / "fb.db").export()
    assert [(r.text, r.label, r.model_version) for r in rows] == [("love it", "positive", "1")]


def test_admin_needs_the_token_and_reload_swaps_versions(registry, tmp_path: Path) -> None:
    async def scenario(client: httpx.AsyncClient) -> None:
        assert (await client.post("/v1/admin/reload")).status_code == 401
        wrong = await client.post("/v1/admin/reload", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401 and wrong.headers["www-authenticate"] == "Bearer"
        auth = {"Authorization": f"Bearer {TOKEN}"}
        assert (await client.post("/v1/admin/reload", headers=auth)).json() == {"swapped": False, "version": "1"}
        before = (await client.post("/v1/predict", json={"text": "hello"})).json()["predictions"][0]
        registry.point("champion", "2")
        try:
            assert (await client.post("/v1/admin/reload", headers=auth)).json() == {"swapped": True, "version": "2"}
        finally:
            registry.point("champion", "1")
        after = (await client.post("/v1/predict", json={"text": "hello"})).json()["predictions"][0]
        assert (before["version"], after["version"]) == ("1", "2") and before["label"] != after["label"]
        assert "sftops_model_swaps_total 2.0" in (await client.get("/metrics")).text

    run_app(tmp_path, registry.uri, scenario)


def test_admin_is_disabled_without_a_token(registry, tmp_path: Path) -> None:
    async def scenario(client: httpx.AsyncClient) -> None:
        resp = await client.post("/v1/admin/reload", headers={"Authorization": "Bearer anything"})
        assert resp.status_code == 403 and "SFTOPS_SERVE_ADMIN_TOKEN" in resp.json()["detail"]

    run_app(tmp_path, registry.uri, scenario, admin_token=None)


def test_full_queue_answers_503_with_retry_after(registry, tmp_path: Path) -> None:
    async def scenario(client: httpx.AsyncClient) -> None:
        resp = await client.post("/v1/predict", json={"texts": ["a", "b", "c"]})
        assert resp.status_code == 503 and resp.headers["retry-after"] == "1" and "server busy" in resp.json()["detail"]
        assert (await client.post("/v1/predict", json={"texts": ["a", "b"]})).status_code == 200

    run_app(tmp_path, registry.uri, scenario, max_queue=2)


def test_not_ready_without_a_model(registry, unreachable_registry: str, tmp_path: Path) -> None:
    async def scenario(client: httpx.AsyncClient) -> None:
        for _ in range(100):  # the background load fails within a couple of seconds
            health = (await client.get("/health")).json()
            if health["detail"]:
                break
            await asyncio.sleep(0.05)
        assert health["status"] == "loading" and "no cached copy" in health["detail"]
        assert (await client.get("/ready")).status_code == 503
        resp = await client.post("/v1/predict", json={"text": "hi"})
        assert resp.status_code == 503 and "no model loaded yet" in resp.json()["detail"]

    run_app(tmp_path, unreachable_registry, scenario, preload=False)


def test_degraded_mode_is_reported_in_health(registry, unreachable_registry: str, tmp_path: Path) -> None:
    ModelStore(ModelRef.parse("tiny-clf"), tracking_uri=registry.uri, cache_dir=tmp_path / "cache").load_initial()

    async def scenario(client: httpx.AsyncClient) -> None:
        health = (await client.get("/health")).json()
        assert health["status"] == "degraded" and "serving cached version 1" in health["detail"]
        assert (await client.post("/v1/predict", json={"text": "hi"})).json()["predictions"][0]["version"] == "1"

    run_app(tmp_path, unreachable_registry, scenario)
