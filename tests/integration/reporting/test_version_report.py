"""The version report against a real MLflow server: built from the runs every stage logs, logged on the version's
run, written by `sftops report`, and clear errors for an unknown alias or an unreachable server."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from sftops.bundle import BUNDLE_ARTIFACT_PATH, BundleManifest, VariantInfo
from sftops.cli import main as sftops_main
from sftops.registry import CHAMPION, AuditEntry, registry_client
from sftops.reporting import REPORT_ARTIFACT, REPORT_TAG, log_version_report

LABELS = ["negative", "neutral", "positive"]
PER_CLASS = {"precision": 0.8, "recall": 0.7, "f1": 0.75, "support": 2}


def _log_json(client, run_id: str, tmp: Path, payload, artifact: str) -> None:
    folder, name = artifact.rsplit("/", 1)
    path = tmp / name
    path.write_text(payload if isinstance(payload, str) else json.dumps(payload), encoding="utf-8")
    client.log_artifact(run_id, str(path), folder)


def _pipeline(client, experiment: str, name: str, tmp: Path, quality: float) -> str:
    """The runs tune, train, evaluate, export and register leave, and the version they register; its number."""
    data = {"sftops.data_hash": f"data{quality}"}
    tune = client.create_run(experiment, tags={**data, "sftops.stage": "tune", "optuna.study_name": "study",
                                               "sftops.best_trial": "1", "best.train.learning_rate": "0.0003"})
    client.log_metric(tune.info.run_id, "best_macro_f1", quality)
    for n, (state, value) in enumerate([("completed", quality - 0.1), ("completed", quality), ("pruned", 0.2)]):
        trial = client.create_run(experiment, tags={**data, "mlflow.parentRunId": tune.info.run_id,
                                                    "optuna.trial_number": str(n), "sftops.trial_state": state})
        client.log_param(trial.info.run_id, "trial.train.learning_rate", 10.0 ** -(n + 3))
        client.log_metric(trial.info.run_id, "objective_value", value)
    train = client.create_run(experiment, tags={**data, "sftops.stage": "train"})
    evaluate = client.create_run(experiment, tags={**data, "sftops.stage": "evaluate",
                                                   "sftops.train_run_id": train.info.run_id})
    scores = {"accuracy": quality, "macro_f1": quality, "per_class": {label: PER_CLASS for label in LABELS}}
    _log_json(client, evaluate.info.run_id, tmp, {"fine_tuned": scores, "tfidf_logreg": scores}, "evaluation/eval.json")
    rows = [{"text": "<b>great</b> day", "label": "positive", "predicted": "negative", "confidence": 0.97,
             "probs": [0.97, 0.02, 0.01]},
            {"text": "fine", "label": "neutral", "predicted": "neutral", "confidence": 0.6, "probs": [0.2, 0.6, 0.2]}]
    _log_json(client, evaluate.info.run_id, tmp, "\n".join(json.dumps(r) for r in rows), "evaluation/predictions.jsonl")
    export = client.create_run(experiment, tags={**data, "sftops.stage": "export"})
    for key, value in {"torch.samples_per_s": 100.0, "fp32.samples_per_s": 250.0, "fp32.speedup_vs_torch": 2.5}.items():
        client.log_metric(export.info.run_id, key, value)
    register = client.create_run(experiment, tags={**data, "sftops.stage": "register"})
    manifest = BundleManifest(max_length=32, inputs=["input_ids"], labels=LABELS, variants={
        "fp32": VariantInfo(file="model.onnx", device="any", macro_f1=quality, f1_delta=0.0),
        "int8": VariantInfo(file="model.int8.onnx", device="cpu", macro_f1=quality - 0.02, f1_delta=-0.02,
                            published=False, reason="F1 drop above export.max_f1_drop")})
    _log_json(client, register.info.run_id, tmp, manifest.model_dump_json(), f"{BUNDLE_ARTIFACT_PATH}/manifest.json")
    tags = {**data, "sftops.task": "classification", "sftops.train_run_id": train.info.run_id}
    return str(client.create_model_version(name, f"runs:/{register.info.run_id}/model", run_id=register.info.run_id,
                                           tags=tags).version)


def _gate(client, name: str, seq: int, version: str, champion: str | None, scores: dict[str, float]) -> None:
    entry = AuditEntry(seq=seq, action="gate", trigger="pipeline", model=name, version=version, decision="promoted",
                       reason="challenger beats champion", champion_before=champion, champion_after=version,
                       metric="macro_f1", scores=scores, test_data_hash="data-today", test_samples=2,
                       variants=dict.fromkeys(scores, "fp32"), devices=dict.fromkeys(scores, "cpu"))
    client.set_registered_model_tag(name, f"sftops.audit.{seq:06d}", entry.model_dump_json())
    client.set_registered_model_alias(name, CHAMPION, version)


@pytest.fixture()
def registered(mlflow_server_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> tuple[str, str]:
    """Model `report-test` on the server: version 1 (first champion) and version 2 (beat it), every stage's runs."""
    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_server_url)
    client = registry_client(mlflow_server_url)
    name = f"report-test-{tmp_path.name}"
    experiment = client.create_experiment(name)
    client.create_registered_model(name)
    first = _pipeline(client, experiment, name, tmp_path, 0.6)
    _gate(client, name, 1, first, None, {first: 0.6})
    second = _pipeline(client, experiment, name, tmp_path, 0.8)
    _gate(client, name, 2, second, first, {second: 0.8, first: 0.6})
    return mlflow_server_url, name


def test_report_is_logged_on_the_version_and_written_by_the_cli(registered, tmp_path: Path, capsys) -> None:
    url, name = registered
    client = registry_client(url)
    uri = log_version_report(client, name, "2")
    version = client.get_model_version(name, "2")
    assert uri == f"runs:/{version.run_id}/{REPORT_ARTIFACT}" and version.tags[REPORT_TAG] == REPORT_ARTIFACT
    html = Path(client.download_artifacts(version.run_id, REPORT_ARTIFACT, str(tmp_path))).read_text(encoding="utf-8")
    assert "champion (version 1)" in html and "0.8000" in html and "0.6000" in html  # the gate's two scores
    assert "&lt;b&gt;great&lt;/b&gt; day" in html and "<b>great" not in html  # a mistake's text, escaped
    assert "ECE" in html and "0.0003" in html and "pruned" in html  # calibration, the tuning study
    assert "no: F1 drop above export.max_f1_drop" in html and "250.0" in html  # export variants and speed
    assert html.count("<img src=\"data:image/png;base64,") == 4 and "http" not in html.split("<body>")[1]

    params = tmp_path / "params.yaml"
    params.write_text(yaml.safe_dump({"tracking": {"uri": url, "experiment": name}}))
    out = tmp_path / "champion.html"
    assert sftops_main(["report", f"{name}@champion", "-o", str(out), "--params", str(params)]) == 0
    assert f"{name}@champion (version 2) -> {out}" in capsys.readouterr().out
    assert "champion (version 1)" in out.read_text(encoding="utf-8")

    assert sftops_main(["report", f"{name}@nope", "--params", str(params)]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "has no version with alias 'nope'" in err, err


def test_unreachable_server_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    from sftops.testing.servers import free_port

    url = f"http://127.0.0.1:{free_port()}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", url)
    params = tmp_path / "params.yaml"
    params.write_text(yaml.safe_dump({"tracking": {"uri": url, "connect_timeout": 1}}))
    assert sftops_main(["report", "m@champion", "--params", str(params)]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("sftops report: error:") and "unreachable" in err and len(err.splitlines()) == 1
