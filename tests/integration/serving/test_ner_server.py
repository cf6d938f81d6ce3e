"""The real server (`sftops serve` in a subprocess, uvicorn, ONNX Runtime) on a token-classification bundle folder.

The bundle is the lookup tagger of sftops.testing.serving_tagger, so every span is known exactly; serve.aggregation
comes from the params file, as a user sets it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from sftops.testing.schema_fuzz import fuzz_openapi
from sftops.testing.servers import free_port, wait_http
from sftops.testing.serving_tagger import ENTITY_TYPES, make_serving_tagger

TOKEN = "ner-integration-token"


@pytest.fixture(scope="module")
def ner_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("ner-serving")
    bundle = make_serving_tagger(root / "ner-bundle")
    (root / "params.yaml").write_text("task: token_classification\nserve:\n  aggregation: average\n  max_texts: 8\n")
    port = free_port()
    env = {**os.environ, "SFTOPS_SERVE_ADMIN_TOKEN": TOKEN, "SFTOPS_SERVE_FEEDBACK_DB": str(root / "fb.db"),
           "SFTOPS_SERVE_INTRA_OP_THREADS": "1"}
    with open(root / "server.log", "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "sftops_serving.cli", "--model", str(bundle), "--port", str(port),
             "--params", str(root / "params.yaml")],
            env=env, stdout=log, stderr=subprocess.STDOUT, cwd=Path(__file__).resolve().parents[3],
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(f"{url}/ready", timeout=120, proc=proc)
        yield url
    finally:
        proc.terminate()
        proc.wait(30)
        print((root / "server.log").read_text()[-3000:])


def test_the_server_answers_entity_spans_of_the_text_sent(ner_url: str) -> None:
    texts = ["Ada  LOVELACE 🙂 visited Paris", "nothing here"]
    resp = httpx.post(f"{ner_url}/v1/predict", json={"texts": texts}, timeout=30)
    assert resp.status_code == 200, resp.text
    got = [[(e["text"], e["type"], e["start"], e["end"]) for e in p["entities"]] for p in resp.json()["predictions"]]
    # average aggregation (from params.yaml): LOVELACE's pieces together make it I-PER, so the person is both words
    assert got == [[("Ada  LOVELACE", "PER", 0, 13), ("Paris", "LOC", 24, 29)], []]
    info = httpx.get(f"{ner_url}/v1/model").json()
    assert (info["task"], info["entity_types"], info["version"]) == ("token_classification", list(ENTITY_TYPES), "local")
    assert 'sftops_entities_total{type="PER"} 1.0' in httpx.get(f"{ner_url}/metrics").text


def test_fuzzing_the_ner_servers_openapi_schema_finds_no_server_error(ner_url: str) -> None:
    seen = fuzz_openapi(ner_url, {"POST /v1/predict", "POST /v1/feedback"})
    assert len(seen) >= 30 and any(400 <= code < 500 for code in seen)
