"""Named-entity recognition through the whole loop with the real MiniLM, on a real MLflow server.

A fresh git repo of this project with params-ner.yaml as its params.yaml (shrunk: a few hundred
WNUT-16 tweets, no trials): `dvc repro` registers version 1 as champion; `sftops serve`
answers entity spans whose character offsets point into the text as sent; span feedback is
posted; `sftops retrain --force` turns it into tagged training sentences and runs the pipeline
again, which registers version 2 trained on them.
"""

from __future__ import annotations

import json
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from sftops.testing.project import make_project_copy, project_env, run, update_params
from sftops.testing.servers import free_port, stop_process, wait_http

FEEDBACK_TOKEN = "ner-feedback"

# corrected texts a user sends back: odd spacing and an emoji; spans as (start, end, type) into the text
FEEDBACK = [
    ("Ada  Lovelace moved to London 🎉", [(0, 13, "person"), (23, 29, "geo-loc")]),
    ("watching the game with Grace Hopper in Boston tonight", [(23, 35, "person"), (39, 45, "geo-loc")]),
    ("@someone   Alan Turing was born in Maida Vale !!", [(11, 22, "person"), (35, 45, "geo-loc")]),
    ("no entities in this one , just words", []),
]
# the IOB2 tags prepare must give the words of each feedback text (whitespace words, as split_words splits them)
FEEDBACK_TAGS = [
    ["B-person", "I-person", "O", "O", "B-geo-loc", "O"],
    ["O", "O", "O", "O", "B-person", "I-person", "O", "B-geo-loc", "O"],
    ["O", "B-person", "I-person", "O", "O", "O", "B-geo-loc", "I-geo-loc", "O"],
    ["O"] * 8,
]


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory, mlflow_server_url: str) -> Iterator[tuple[Path, str, str]]:
    """Version 1 registered as champion from params-ner.yaml; yields (repo, model name, server URL) with the server up."""
    root = tmp_path_factory.mktemp("ner")
    repo = make_project_copy(root / "proj")
    (repo / "params.yaml").write_text((repo / "params-ner.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    retrain = yaml.safe_load((repo / "params.yaml").read_text())["drift"]["retrain"]
    name = f"e2e-ner-{uuid.uuid4().hex[:8]}"
    port = free_port()
    update_params(
        repo,
        data={"max_samples": {"train": 240, "validation": 60, "test": 120}},
        model={"max_length": 48},
        train={"learning_rate": 3e-4, "batch_size": 16, "epochs": 3, "warmup_ratio": 0.0, "precision": "fp32"},
        # no trials: NER tuning is tested in tests/unit/tuning and the tune stage under dvc by tests/e2e/test_pipeline.py;
        # here it would only add two more model loads per repro to a suite that must stay well under 30 minutes
        tune={"enabled": False},
        tracking={"uri": mlflow_server_url, "experiment": name},
        registry={"model_name": name},
        export={"variants": ["int8"], "parity_samples": 32, "drift_samples": 60, "require_speedup": False},
        serve={"port": port, "device": "cpu", "poll_interval_s": 1, "cache_dir": "serve-cache", "intra_op_threads": 1},
        # no automatic retrain: the test starts the one it checks
        drift={"retrain": {**retrain, "on_drift": False, "min_feedback": None}},
    )
    run(["git", "add", "-A"], repo)
    run(["git", "-c", "user.email=t@sftops", "-c", "user.name=t", "commit", "-qm", "tiny NER profile"], repo)
    run(["dvc", "repro"], repo, timeout=900)
    url = f"http://127.0.0.1:{port}"
    with open(root / "serve.log", "wb") as log:
        server = subprocess.Popen(["sftops", "serve", "--params", "params.yaml"], cwd=repo,
                                  env={**project_env(), "SFTOPS_SERVE_FEEDBACK_TOKEN": FEEDBACK_TOKEN},
                                  stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_http(f"{url}/ready", timeout=120, proc=server)
        yield repo, name, url
    finally:
        stop_process(server)


def _champion(uri: str, name: str) -> str:
    from mlflow import MlflowClient

    return str(MlflowClient(uri, uri).get_model_version_by_alias(name, "champion").version)


def _predict(url: str, texts: list[str]) -> list[dict[str, Any]]:
    resp = httpx.post(f"{url}/v1/predict", json={"texts": texts}, timeout=60)
    assert resp.status_code == 200, resp.text
    return resp.json()["predictions"]


def test_repro_registers_an_ner_champion_that_beats_the_untuned_model(project: tuple[Path, str, str],
                                                                      mlflow_server_url: str) -> None:
    repo, name, _url = project
    meta = json.loads((repo / "data/prepared/meta.json").read_text())
    assert meta["task"] == "token_classification" and meta["label_map"]["O"] == 0
    assert {"person", "geo-loc", "company"} <= set(meta["entity_types"])
    evaluation = json.loads((repo / "metrics/eval.json").read_text())
    assert {"fine_tuned", "untuned", "crf"} <= set(evaluation), evaluation.keys()
    assert evaluation["fine_tuned"]["entity_f1"] > evaluation["untuned"]["entity_f1"]
    manifest = json.loads((repo / "models/onnx/manifest.json").read_text())
    assert manifest["task"] == "token_classification" and manifest["labels"][0] == "O"
    export = json.loads((repo / "metrics/export.json").read_text())
    assert export["parity.max_abs_diff"] <= 1e-3
    registration = json.loads((repo / "models/registration.json").read_text())
    assert (registration["version"], registration["decision"], registration["metric"]) == ("1", "promoted", "entity_f1")
    assert _champion(mlflow_server_url, name) == "1"


def test_serve_answers_entity_spans_with_offsets_into_the_text_sent(project: tuple[Path, str, str]) -> None:
    from sftops.data import load_prepared

    repo, name, url = project
    model = httpx.get(f"{url}/v1/model", timeout=10).json()
    assert (model["task"], model["name"], model["version"]) == ("token_classification", name, "1")
    assert {"person", "geo-loc"} <= set(model["entity_types"])
    # the test split as it was prepared (single spaces), then the same words with repeated spaces, tabs and an emoji
    texts = list(load_prepared(repo / "data/prepared").test["text"])
    texts += ["  " + "   ".join(t.split(" ")) + " 🎉" for t in texts[:20]]
    found = 0
    for start in range(0, len(texts), 32):
        batch = texts[start : start + 32]
        for text, answer in zip(batch, _predict(url, batch)):
            assert answer["version"] == "1" and isinstance(answer["truncated"], bool)
            previous_end = 0
            for entity in answer["entities"]:
                assert text[entity["start"] : entity["end"]] == entity["text"], (text, entity)
                assert entity["text"] == entity["text"].strip() and entity["start"] >= previous_end
                assert entity["type"] in model["entity_types"] and 0 < entity["score"] <= 1
                previous_end = entity["end"]
                found += 1
    assert found > 0  # the fine-tuned model finds entities in real tweets


def test_span_feedback_is_trained_on_after_a_forced_retrain(project: tuple[Path, str, str],
                                                             mlflow_server_url: str) -> None:
    from sftops.data import load_prepared

    repo, _name, url = project
    headers = {"Authorization": f"Bearer {FEEDBACK_TOKEN}"}
    with httpx.Client(base_url=url, timeout=30, headers=headers) as client:
        bad = client.post("/v1/feedback", json={"text": "Ada in Paris", "entities": [{"start": 0, "end": 3, "type": "nope"}]})
        assert bad.status_code in (400, 422) and "nope" in bad.text, bad.text  # not one of the model's entity types
        for text, spans in FEEDBACK:
            resp = client.post("/v1/feedback", json={
                "text": text, "entities": [{"start": s, "end": e, "type": t} for s, e, t in spans]})
            assert resp.status_code == 200 and resp.json()["stored"] is True, resp.text

    out = run(["sftops", "retrain", "--params", "params.yaml", "--force", "--reason", "manual"], repo, timeout=900)
    assert "version 2" in out.stdout, out.stdout

    merged = [json.loads(line) for line in (repo / "data/feedback/feedback.jsonl").read_text().splitlines() if line.strip()]
    assert sorted((row["tokens"], row["tags"]) for row in merged) == sorted(
        (text.split(), tags) for (text, _), tags in zip(FEEDBACK, FEEDBACK_TAGS))
    data = load_prepared(repo / "data/prepared")
    assert data.meta["extra_sources"]["rows_kept"] == len(FEEDBACK)
    train = {text: list(tags) for text, tags in zip(data.train["text"], data.train["tags"])}
    for (text, _), tags in zip(FEEDBACK, FEEDBACK_TAGS):
        assert train[" ".join(text.split())] == tags
    for split in (data.validation, data.test):
        assert not set(split["text"]) & {" ".join(t.split()) for t, _ in FEEDBACK}
    registration = json.loads((repo / "models/registration.json").read_text())
    assert registration["version"] == "2" and registration["decision"] in ("promoted", "rejected")
    assert registration["test_overlap"]["2"] == 0
