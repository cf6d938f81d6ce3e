"""sftops_pipelines.export (pipelines/export.py): `sftops export` in a project folder writes models/onnx, metrics and an MLflow run."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import mlflow
import pytest
import yaml

from sftops.bundle import BundleManifest
from sftops.testing import prepared_from_frames
from sftops_pipelines.export import main


@pytest.fixture
def project(tiny_classifier_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    data = prepared_from_frames()
    prepared = tmp_path / "data" / "prepared"
    prepared.mkdir(parents=True)
    for split in ("train", "validation", "test"):
        data.split(split).to_parquet(prepared / f"{split}.parquet")
    (prepared / "meta.json").write_text(json.dumps({"label_map": data.label_map.to_json()}))
    shutil.copytree(tiny_classifier_dir, tmp_path / "models" / "model")
    params = {"model": {"max_length": 32}, "export": {"variants": ["int8"], "drift_samples": 20}}
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_export_stage_writes_bundle_metrics_and_run(project: Path) -> None:
    assert main([]) == 0
    manifest = BundleManifest.load(project / "models" / "onnx")
    assert set(manifest.variants) == {"fp32", "int8"} and manifest.max_length == 32
    metrics = json.loads((project / "metrics" / "export.json").read_text())
    assert metrics["fp32.max_abs_diff"] <= 1e-3 and metrics["n_test"] == 40
    run = mlflow.get_run(metrics["mlflow_run_id"])
    assert run.info.run_name == "export" and run.data.tags["sftops.stage"] == "export"
    assert run.data.metrics["int8.f1_delta"] == pytest.approx(metrics["int8.f1_delta"])
    assert run.data.params["export.variants"] == "['int8']"


def test_missing_model_is_one_line_and_exit_1(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    shutil.rmtree(project / "models" / "model")
    assert main([]) == 1
    last = capsys.readouterr().err.strip().splitlines()[-1]  # earlier lines: MLflow's own store logging
    assert last.startswith("sftops export: error: models/model: no trained model here; run `sftops train`")
    assert not (project / "models" / "onnx").exists() and not (project / "metrics").exists()
