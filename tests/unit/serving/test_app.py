"""serving/app.py in process (ASGITransport + lifespan): the API contract, validation, feedback, admin, metrics."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
import numpy as np
import pytest

from sftops.config import ServeConfig
from sftops.inference import softmax
from sftops.registry import ModelRef
from sftops.testing import doc_paragraphs
from sftops.testing.asgi import run_scenario
from sftops.testing.onnx_fakes import LABELS, expected_logits, make_mean_id_bundle, token_ids
from sftops_serving.app import create_app
from sftops_serving.model_store import ModelStore
from sftops_serving.settings import load_settings

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

    run_scenario(create_app(serve, store), scenario)


def test_predict_returns_exact_probabilities_and_the_version(registry, tmp_path: Path) -> None:
    texts = ["what a lovely day", "zzz", "I hate waiting in line for hours at the airport"]

    async def scenario(client: httpx.AsyncClient) -> None:
        one = (await client.post("/v1/predict", json={"text": texts[0]})).json()["predictions"]
        many = await client.post("/v1/predict", json={"texts": texts})
        assert many.status_code == 200
        got = many.json()["predictions"]
        assert len(one) == 1 and one[0] == got[0]
        for text, p in zip(texts, got):
            want = softmax(expected_logits(token_ids(text)))
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


FEEDBACK_TOKEN = "fb-token"
FEEDBACK_AUTH = {"Authorization": f"Bearer {FEEDBACK_TOKEN}"}


def test_feedback_is_validated_and_stored_once(registry, tmp_path: Path) -> None:
    async def scenario(client: httpx.AsyncClient) -> None:
        ok = await client.post("/v1/feedback", json={"text": "love it", "label": "positive"}, headers=FEEDBACK_AUTH)
        again = await client.post("/v1/feedback", json={"text": "love it", "label": "positive"}, headers=FEEDBACK_AUTH)
        assert (ok.status_code, ok.json()["stored"], again.json()["stored"]) == (200, True, False)
        assert again.json()["id"] == ok.json()["id"]  # the row already stored
        bad = await client.post("/v1/feedback", json={"text": "love it", "label": "happy"}, headers=FEEDBACK_AUTH)
        assert bad.status_code == 422 and "'happy' is not one of the model's labels" in bad.json()["detail"]
        empty = await client.post("/v1/feedback", json={"text": "", "label": "positive"}, headers=FEEDBACK_AUTH)
        assert empty.status_code == 422

    run_app(tmp_path, registry.uri, scenario, feedback_token=FEEDBACK_TOKEN)
    from sftops.feedback import FeedbackStore

    rows = FeedbackStore(tmp_path / "fb.db").export()
    assert [(r.text, r.label, r.model_version) for r in rows] == [("love it", "positive", "1")]


def test_feedback_needs_the_feedback_or_the_admin_token(registry, tmp_path: Path) -> None:
    body = {"text": "love it", "label": "positive"}

    async def scenario(client: httpx.AsyncClient) -> None:
        missing = await client.post("/v1/feedback", json=body)
        assert missing.status_code == 401 and missing.headers["www-authenticate"] == "Bearer"
        assert "feedback token" in missing.json()["detail"]
        assert (await client.post("/v1/feedback", json=body, headers={"Authorization": "Bearer nope"})).status_code == 401
        assert (await client.post("/v1/feedback", json=body, headers=FEEDBACK_AUTH)).status_code == 200
        admin = {"Authorization": f"Bearer {TOKEN}"}
        assert (await client.post("/v1/feedback", json={**body, "label": "neutral"}, headers=admin)).status_code == 200
        # the feedback token opens feedback only, not the admin endpoints
        assert (await client.post("/v1/admin/reload", headers=FEEDBACK_AUTH)).status_code == 401

    run_app(tmp_path, registry.uri, scenario, feedback_token=FEEDBACK_TOKEN)
    from sftops.feedback import FeedbackStore

    assert [r.label for r in FeedbackStore(tmp_path / "fb.db").export()] == ["positive", "neutral"]


def test_feedback_is_disabled_without_any_token(registry, tmp_path: Path) -> None:
    async def scenario(client: httpx.AsyncClient) -> None:
        resp = await client.post("/v1/feedback", json={"text": "a", "label": "positive"}, headers=FEEDBACK_AUTH)
        assert resp.status_code == 403 and "SFTOPS_SERVE_FEEDBACK_TOKEN" in resp.json()["detail"]

    run_app(tmp_path, registry.uri, scenario, admin_token=None)
    from sftops.feedback import FeedbackStore

    assert FeedbackStore(tmp_path / "fb.db").export() == []


def test_the_feedback_token_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SFTOPS_SERVE_FEEDBACK_TOKEN", "from-env")
    assert load_settings(ServeConfig(feedback_token="in-params")).feedback_token == "from-env"


def test_feedback_with_control_characters_is_refused(registry, tmp_path: Path) -> None:
    async def scenario(client: httpx.AsyncClient) -> None:
        for text, shown in [("nul\x00here", "\\x00"), ("esc \x1b[31m red", "\\x1b"), ("del\x7f", "\\x7f"),
                            ("c1 \x85 next line", "\\x85"), ("bell\x07 and \x00", "\\x07, \\x00")]:
            resp = await client.post("/v1/feedback", json={"text": text, "label": "positive"}, headers=FEEDBACK_AUTH)
            assert resp.status_code == 422, text
            assert f"text: contains control characters {shown}" in resp.json()["detail"], resp.text
        fine = await client.post("/v1/feedback", json={"text": "tab\there\nnew line\r\n", "label": "positive"},
                                 headers=FEEDBACK_AUTH)
        assert fine.status_code == 200 and fine.json()["stored"] is True
        # predictions never reach training data: they still take any text, as before
        assert (await client.post("/v1/predict", json={"text": "nul\x00here"})).status_code == 200

    run_app(tmp_path, registry.uri, scenario, feedback_token=FEEDBACK_TOKEN)
    from sftops.feedback import FeedbackStore

    assert [r.text for r in FeedbackStore(tmp_path / "fb.db").export()] == ["tab\there\nnew line\r\n"]


def test_admin_deletes_feedback_by_id_or_text(registry, tmp_path: Path) -> None:
    admin = {"Authorization": f"Bearer {TOKEN}"}

    async def scenario(client: httpx.AsyncClient) -> None:
        ids = {}
        for text, label in [("keep me", "positive"), ("drop by id", "negative"), ("drop by text", "neutral"),
                            ("drop by text", "positive")]:
            resp = await client.post("/v1/feedback", json={"text": text, "label": label}, headers=FEEDBACK_AUTH)
            ids[(text, label)] = resp.json()["id"]
        body = {"ids": [ids[("drop by id", "negative")]], "texts": ["drop by text"]}
        assert (await client.post("/v1/admin/feedback/delete", json=body, headers=FEEDBACK_AUTH)).status_code == 401
        deleted = await client.post("/v1/admin/feedback/delete", json=body, headers=admin)
        assert (deleted.status_code, deleted.json()) == (200, {"deleted": 3})
        again = await client.post("/v1/admin/feedback/delete", json=body, headers=admin)
        assert again.json() == {"deleted": 0}
        empty = await client.post("/v1/admin/feedback/delete", json={}, headers=admin)
        assert empty.status_code == 422 and 'send "ids" and/or "texts"' in empty.json()["detail"]

    run_app(tmp_path, registry.uri, scenario, feedback_token=FEEDBACK_TOKEN)
    from sftops.feedback import FeedbackStore

    assert [r.text for r in FeedbackStore(tmp_path / "fb.db").export()] == ["keep me"]


def test_expired_feedback_is_purged_at_start(registry, tmp_path: Path) -> None:
    import time

    from sftops.feedback import FeedbackStore

    store = FeedbackStore(tmp_path / "fb.db")
    store.add("old opinion", "negative")
    store.close()
    time.sleep(0.3)

    async def scenario(client: httpx.AsyncClient) -> None:
        for _ in range(100):  # the purge runs in the background right after start
            metrics = (await client.get("/metrics")).text
            if "sftops_feedback_purged_total 1.0" in metrics:
                break
            await asyncio.sleep(0.02)
        assert "sftops_feedback_purged_total 1.0" in metrics
        resp = await client.post("/v1/feedback", json={"text": "new opinion", "label": "positive"}, headers=FEEDBACK_AUTH)
        assert resp.status_code == 200

    run_app(tmp_path, registry.uri, scenario, feedback_token=FEEDBACK_TOKEN, feedback_retention_days=0.2 / 86400)
    assert [r.text for r in FeedbackStore(tmp_path / "fb.db").export()] == ["new opinion"]


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


def _run_local(
    tmp_path: Path, bundle: Path, scenario: Callable[[httpx.AsyncClient], Awaitable[None]],
    params_file: Path | None = None, **drift: object,
) -> None:
    from sftops.config import DriftConfig

    serve = load_settings(ServeConfig(), feedback_db=str(tmp_path / "fb.db"), max_wait_ms=1, admin_token=TOKEN)
    store = ModelStore.from_folder(bundle, device="cpu")
    store.load_initial()

    app = create_app(serve, store, drift_config=DriftConfig(**drift), project_dir=tmp_path, params_file=params_file)
    run_scenario(app, scenario)


async def _drift_after(client: httpx.AsyncClient, observed: int) -> dict:
    """/v1/drift once the background check of the first `observed` texts has run."""
    for _ in range(200):
        body = (await client.get("/v1/drift")).json()
        if body["report"] and body["report"]["observed_total"] >= observed:
            return body
        await asyncio.sleep(0.05)
    raise AssertionError(f"no drift check covered {observed} texts: {body}")


DRIFT = {"window": 100, "check_every": 100, "min_samples": 100, "p_value": 0.05, "mmd_permutations": 199,
         "min_check_interval_s": 0}


def test_live_traffic_feeds_the_drift_monitor_and_shifted_text_alarms(tmp_path: Path) -> None:
    from sftops.testing import make_text_dataset

    bundle = make_mean_id_bundle(tmp_path / "b", max_length=64, drift_texts=list(make_text_dataset(400, seed=1)["text"]))
    in_domain = list(make_text_dataset(100, seed=2)["text"])

    async def scenario(client: httpx.AsyncClient) -> None:
        start = (await client.get("/v1/drift")).json()
        assert (start["enabled"], start["monitoring"], start["model_version"], start["report"]) == (True, True, "local", None)
        for i in range(0, 100, 10):
            assert (await client.post("/v1/predict", json={"texts": in_domain[i:i + 10]})).status_code == 200
        ok = await _drift_after(client, 100)
        assert (ok["report"]["state"], ok["alarm"], ok["window"], ok["observed"]) == ("ok", False, 100, 100)
        assert set(ok["report"]["detectors"]) == {"labels", "confidence", "length", "unknown", "embedding"}
        assert all(d["p_value"] >= ok["report"]["detector_alpha"] for d in ok["report"]["detectors"].values())
        assert ok["retrain"] == {**ok["retrain"], "status": None, "running": False}

        docs = doc_paragraphs(100)
        for i in range(0, 100, 10):
            assert (await client.post("/v1/predict", json={"texts": docs[i:i + 10]})).status_code == 200
        shifted = await _drift_after(client, 200)
        detectors = shifted["report"]["detectors"]
        assert (shifted["report"]["state"], shifted["alarm"]) == ("alarm", True)
        assert detectors["length"]["alarm"] and detectors["length"]["score"] > 0.9  # KS distance: 64-token paragraphs
        metrics = (await client.get("/metrics")).text
        assert "sftops_drift_alarm 1.0" in metrics and "sftops_drift_checks_total 2.0" in metrics
        assert 'sftops_drift_p_value{detector="length"}' in metrics
        assert not (tmp_path / "retrain/retrain-spawn.log").exists()  # no params file given: no retrain

    _run_local(tmp_path, bundle, scenario, **DRIFT)
    saved = json.loads((tmp_path / "retrain/drift_status.json").read_text())
    assert (saved["state"], saved["model_version"]) == ("alarm", "local")


def test_a_bundle_without_drift_reference_is_served_unmonitored(tmp_path: Path) -> None:
    bundle = make_mean_id_bundle(tmp_path / "b")

    async def scenario(client: httpx.AsyncClient) -> None:
        assert (await client.post("/v1/predict", json={"text": "fine"})).status_code == 200
        body = (await client.get("/v1/drift")).json()
        assert (body["enabled"], body["monitoring"], body["observed"], body["alarm"]) == (True, False, 0, False)
        assert "version local is not monitored" in body["detail"] and "no drift reference" in body["detail"]

    _run_local(tmp_path, bundle, scenario, **DRIFT)


def test_drift_disabled_still_serves_and_says_so(tmp_path: Path) -> None:
    bundle = make_mean_id_bundle(tmp_path / "b", drift_texts=["a short text"] * 3)

    async def scenario(client: httpx.AsyncClient) -> None:
        assert (await client.post("/v1/predict", json={"text": "fine"})).status_code == 200
        body = (await client.get("/v1/drift")).json()
        assert (body["enabled"], body["monitoring"], body["model_version"]) == (False, False, "local")
        assert "drift.enabled: false" in body["detail"]
        assert "sftops_drift_checks_total 0.0" in (await client.get("/metrics")).text
        schema = (await client.get("/openapi.json")).json()
        ok = schema["paths"]["/v1/drift"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
        assert ok == {"$ref": "#/components/schemas/DriftResponse"}
        assert {"DriftCheck", "DetectorStatus", "RetrainStatus"} <= set(schema["components"]["schemas"])

    _run_local(tmp_path, bundle, scenario, enabled=False)


def test_the_server_imports_neither_torch_nor_transformers() -> None:
    from sftops.testing.imports import loaded_by_import

    server = ["sftops_serving.app", "sftops_serving.cli", "sftops_serving.monitor", "sftops_serving.model_store"]
    assert loaded_by_import(server, ["torch", "transformers", "peft", "optimum"]) == []


def test_admin_checks_drift_now_and_starts_a_manual_retrain(tmp_path: Path) -> None:
    from sftops.testing import make_text_dataset

    bundle = make_mean_id_bundle(tmp_path / "b", max_length=64, drift_texts=list(make_text_dataset(400, seed=1)["text"]))
    auth = {"Authorization": f"Bearer {TOKEN}"}
    params_file = tmp_path / "params.yaml"
    params_file.write_text("{}\n")  # defaults: tmp_path is no DVC project, so the retrain itself refuses

    async def scenario(client: httpx.AsyncClient) -> None:
        assert (await client.post("/v1/admin/drift/check")).status_code == 401
        texts = list(make_text_dataset(60, seed=2)["text"])
        assert (await client.post("/v1/predict", json={"texts": texts})).status_code == 200
        assert (await client.get("/v1/drift")).json()["report"] is None  # 60 texts: no check is due yet
        checked = (await client.post("/v1/admin/drift/check", headers=auth)).json()
        assert (checked["report"]["observed_total"], checked["report"]["state"]) == (60, "warming_up")

        started = await client.post("/v1/admin/retrain", headers=auth, json={"force": True})
        assert started.status_code == 202, started.text
        assert 'sftops_retrains_started_total{reason="manual"} 1.0' in (await client.get("/metrics")).text
        log_file = Path(started.json()["log_file"])
        for _ in range(600):
            if log_file.exists() and "sftops retrain" in log_file.read_text():
                break
            await asyncio.sleep(0.1)
        assert "sftops retrain" in log_file.read_text()
        bad = await client.post("/v1/admin/retrain", headers=auth, json={"force": "yes please"})
        assert bad.status_code == 422

    _run_local(tmp_path, bundle, scenario, params_file=params_file, **DRIFT)


def test_admin_refuses_what_the_server_cannot_do(tmp_path: Path) -> None:
    bundle = make_mean_id_bundle(tmp_path / "b")  # no drift reference
    auth = {"Authorization": f"Bearer {TOKEN}"}

    async def scenario(client: httpx.AsyncClient) -> None:
        check = await client.post("/v1/admin/drift/check", headers=auth)
        assert check.status_code == 409 and "no drift reference" in check.json()["detail"]
        retrain = await client.post("/v1/admin/retrain", headers=auth)
        assert retrain.status_code == 409 and "--params" in retrain.json()["detail"]

    _run_local(tmp_path, bundle, scenario, **DRIFT)
