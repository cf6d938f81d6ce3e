"""The real server (uvicorn subprocess) on a tiny BERT exported to ONNX, registered in a real `mlflow server`."""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import numpy as np
import pytest

from sftops.bundle import BundleManifest, VariantInfo
from sftops.testing.onnx_fakes import register_bundle
from sftops.testing.schema_fuzz import fuzz_openapi
from sftops.testing.servers import free_port, wait_http

LABELS = ["negative", "neutral", "positive"]
MAX_LENGTH = 32
TOKEN = "integration-token"
TEXTS = [
    "I absolutely love this phone, best purchase ever!",
    "worst customer service I have had in years",
    "the train leaves at nine",
    "meh",
    "Not sure how I feel about the new update... it is okay I guess, but the battery drains faster " * 2,
]


def _export_tiny_classifier(base: Path, folder: Path, seed: int) -> Path:
    """A tiny BERT with a seeded fresh head -> serving bundle (model.onnx with logits + embedding)."""
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    torch.manual_seed(seed)
    model = AutoModelForSequenceClassification.from_pretrained(base, num_labels=len(LABELS), attn_implementation="eager").eval()
    tokenizer = AutoTokenizer.from_pretrained(base)
    folder.mkdir(parents=True)
    model.save_pretrained(folder / "torch")
    tokenizer.save_pretrained(folder / "torch")

    class Wrapper(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids, attention_mask, token_type_ids):
            out = self.model(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids, output_hidden_states=True)
            mask = attention_mask.unsqueeze(-1).float()
            return out.logits, (out.hidden_states[-1] * mask).sum(1) / mask.sum(1)

    names = ["input_ids", "attention_mask", "token_type_ids"]
    example = tokenizer(["a short text", "a longer text that needs padding here"], padding=True, return_tensors="pt")
    axes = {n: {0: "batch", 1: "sequence"} for n in names} | {"logits": {0: "batch"}, "embedding": {0: "batch"}}
    with torch.no_grad():
        torch.onnx.export(Wrapper().eval(), tuple(example[n] for n in names), str(folder / "model.onnx"), input_names=names,
                          output_names=["logits", "embedding"], dynamic_axes=axes, opset_version=17, dynamo=False)
    from tokenizers import Tokenizer

    fast = Tokenizer.from_file(str(folder / "torch" / "tokenizer.json"))
    fast.enable_truncation(MAX_LENGTH)
    fast.save(str(folder / "tokenizer.json"))
    (folder / "label_map.json").write_text(json.dumps({n: i for i, n in enumerate(LABELS)}))
    BundleManifest(max_length=MAX_LENGTH, inputs=names, labels=LABELS, drift_reference_file=None,
                   variants={"fp32": VariantInfo(file="model.onnx", device="any")}).save(folder)
    return folder


@dataclass
class Deployment:
    url: str
    registry_uri: str
    name: str
    bundles: dict[str, Path]
    proc: subprocess.Popen

    def point(self, version: str) -> None:
        from mlflow import MlflowClient

        MlflowClient(self.registry_uri, self.registry_uri).set_registered_model_alias(self.name, "champion", version)

    def metrics(self) -> str:
        return httpx.get(f"{self.url}/metrics").text


@pytest.fixture(scope="module")
def deployment(mlflow_server_url: str, tiny_bert_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    from mlflow import MlflowClient

    root = tmp_path_factory.mktemp("serving-int")
    name = "tiny-sentiment"
    client = MlflowClient(mlflow_server_url, mlflow_server_url)
    experiment_id = client.create_experiment("serving-integration")
    client.create_registered_model(name)
    bundles = {}
    for seed in (1, 2):
        bundle = _export_tiny_classifier(tiny_bert_dir, root / f"bundle{seed}", seed)
        bundles[register_bundle(client, experiment_id, name, bundle, metrics={"test_macro_f1": 0.4})] = bundle
    client.set_registered_model_alias(name, "champion", "1")

    port = free_port()
    env = {
        **os.environ, "MLFLOW_TRACKING_URI": mlflow_server_url, "SFTOPS_SERVE_ADMIN_TOKEN": TOKEN,
        "SFTOPS_SERVE_CACHE_DIR": str(root / "cache"), "SFTOPS_SERVE_FEEDBACK_DB": str(root / "fb.db"),
        "SFTOPS_SERVE_POLL_INTERVAL_S": "1", "SFTOPS_SERVE_MAX_BATCH_SIZE": "16", "SFTOPS_SERVE_MAX_WAIT_MS": "20",
        "SFTOPS_SERVE_MAX_QUEUE": "64", "SFTOPS_SERVE_MAX_TEXTS": "32", "SFTOPS_SERVE_INTRA_OP_THREADS": "1",
    }
    (root / "params.yaml").write_text("{}\n")  # its folder is the server's project: drift status, retrains
    with open(root / "server.log", "wb") as log:  # the server writes to its own copy of the handle
        proc = subprocess.Popen(
            [sys.executable, "-m", "sftops_serving.cli", "--model", f"{name}@champion", "--port", str(port),
             "--params", str(root / "params.yaml")],
            env=env, stdout=log, stderr=subprocess.STDOUT, cwd=Path(__file__).resolve().parents[3],
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(f"{url}/ready", timeout=120, proc=proc)
        yield Deployment(url, mlflow_server_url, name, bundles, proc)
    finally:
        proc.terminate()
        proc.wait(30)
        print((root / "server.log").read_text()[-3000:])


def _predict(url: str, texts: list[str]) -> list[dict]:
    resp = httpx.post(f"{url}/v1/predict", json={"texts": texts}, timeout=30)
    assert resp.status_code == 200, resp.text
    return resp.json()["predictions"]


def test_predictions_match_pytorch(deployment: Deployment) -> None:
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    folder = deployment.bundles["1"] / "torch"
    model = AutoModelForSequenceClassification.from_pretrained(folder).eval()
    enc = AutoTokenizer.from_pretrained(folder)(TEXTS, padding=True, truncation=True, max_length=MAX_LENGTH, return_tensors="pt")
    with torch.no_grad():
        want = torch.softmax(model(**enc).logits, -1).numpy()
    got = _predict(deployment.url, TEXTS)
    assert [p["label"] for p in got] == [LABELS[i] for i in want.argmax(1)]
    np.testing.assert_allclose([[p["probabilities"][n] for n in LABELS] for p in got], want, atol=1e-4)
    assert {(p["model"], p["version"]) for p in got} == {(deployment.name, "1")}
    assert [p["truncated"] for p in got] == [False, False, False, False, True]
    info = httpx.get(f"{deployment.url}/v1/model").json()
    assert (info["version"], info["data_hash"], info["metrics"]) == ("1", "abc123", {"test_macro_f1": 0.4})


def _histogram(metrics: str, name: str) -> tuple[float, float]:
    total = float(re.search(rf"^{name}_sum (\S+)$", metrics, re.M).group(1))
    count = float(re.search(rf"^{name}_count (\S+)$", metrics, re.M).group(1))
    return total, count


async def _stream(url: str, n: int, concurrency: int, texts: int = 1) -> list[httpx.Response | Exception]:
    sem = asyncio.Semaphore(concurrency)
    async with httpx.AsyncClient(base_url=url, timeout=30, limits=httpx.Limits(max_connections=concurrency)) as client:
        async def one(i: int) -> httpx.Response | Exception:
            async with sem:
                try:
                    return await client.post("/v1/predict", json={"texts": [TEXTS[i % len(TEXTS)]] * texts})
                except httpx.HTTPError as exc:
                    return exc
        return await asyncio.gather(*(one(i) for i in range(n)))


def test_batches_form_under_concurrent_load(deployment: Deployment) -> None:
    before = _histogram(deployment.metrics(), "sftops_batch_size")
    responses = asyncio.run(_stream(deployment.url, 96, concurrency=32))
    assert [r.status_code for r in responses] == [200] * 96
    total, count = (a - b for a, b in zip(_histogram(deployment.metrics(), "sftops_batch_size"), before))
    assert total == 96 and count < 96 / 2, f"{count} batches for 96 single-text requests"


def test_bad_inputs_over_http(deployment: Deployment) -> None:
    url = f"{deployment.url}/v1/predict"
    cases = [
        (dict(json={"text": 3}), 422), (dict(json={}), 422), (dict(json={"text": ""}), 422),
        (dict(json={"texts": ["x"] * 33}), 422),
        (dict(content=b'{"text": "\xff\xfe"}', headers={"content-type": "application/json"}), 400),
        (dict(content=b"x" * 1_100_000, headers={"content-type": "application/json"}), 413),
        (dict(content=b"hello", headers={"content-type": "text/plain"}), 415),
    ]
    for kwargs, status in cases:
        resp = httpx.post(url, timeout=30, **kwargs)
        assert resp.status_code == status and resp.json()["detail"], (kwargs.get("json"), resp.text[:200])
    assert httpx.get(f"{deployment.url}/health").json()["status"] == "ok"


def test_full_queue_pushes_back(deployment: Deployment) -> None:
    responses = asyncio.run(_stream(deployment.url, 40, concurrency=40, texts=32))
    codes = [r.status_code for r in responses]
    assert set(codes) <= {200, 503} and codes.count(503) > 0 and codes.count(200) > 0, codes
    busy = next(r for r in responses if r.status_code == 503)
    assert busy.headers["retry-after"] == "1" and "server busy" in busy.json()["detail"]


def test_admin_auth(deployment: Deployment) -> None:
    url = f"{deployment.url}/v1/admin/reload"
    assert httpx.post(url).status_code == 401
    assert httpx.post(url, headers={"Authorization": "Bearer wrong"}).status_code == 401
    ok = httpx.post(url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=60)
    assert ok.status_code == 200 and ok.json()["swapped"] is False


def test_hot_swap_mid_stream_loses_no_request(deployment: Deployment) -> None:
    async def scenario() -> list[tuple[float, httpx.Response | Exception]]:
        loop = asyncio.get_running_loop()
        results: list[tuple[float, httpx.Response | Exception]] = []
        stop = asyncio.Event()

        async def client_loop(client: httpx.AsyncClient, i: int) -> None:
            while not stop.is_set():
                try:
                    resp = await client.post("/v1/predict", json={"text": TEXTS[i % len(TEXTS)]})
                except httpx.HTTPError as exc:
                    resp = exc
                results.append((loop.time(), resp))

        async with httpx.AsyncClient(base_url=deployment.url, timeout=30) as client:
            workers = [asyncio.create_task(client_loop(client, i)) for i in range(8)]
            await asyncio.sleep(1.0)
            await asyncio.to_thread(deployment.point, "2")
            for _ in range(200):  # the server polls every second; wait until it answers with version 2
                await asyncio.sleep(0.1)
                if any(isinstance(r, httpx.Response) and r.status_code == 200 and
                       r.json()["predictions"][0]["version"] == "2" for _, r in results[-8:]):
                    break
            await asyncio.sleep(1.0)
            stop.set()
            await asyncio.gather(*workers)
        return results

    try:
        results = asyncio.run(scenario())
    finally:
        deployment.point("1")
    failures = [r for _, r in results if not isinstance(r, httpx.Response) or r.status_code != 200]
    assert not failures, failures[:3]
    versions = [r.json()["predictions"][0]["version"] for _, r in results]
    assert versions[0] == "1" and versions[-1] == "2" and len(versions) > 50
    first_new = versions.index("2")
    assert set(versions[first_new + 8 :]) == {"2"}  # after the swap only in-flight requests may still say 1
    assert 'version="2"' in deployment.metrics()


def test_fuzzing_the_openapi_schema_finds_no_server_error(deployment: Deployment) -> None:
    seen = fuzz_openapi(deployment.url, {"POST /v1/predict", "POST /v1/feedback"})
    assert len(seen) >= 30 and any(400 <= code < 500 for code in seen)
