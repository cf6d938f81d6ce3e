"""The Python API: every stage run from another working folder, given the project folder, as a notebook would."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import yaml
from mlflow import MlflowClient

import sftops
from sftops.exceptions import ConfigError, DataError
from sftops.testing import make_text_dataset


@pytest.fixture
def project(tmp_path: Path, tiny_bert_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project whose params use only relative paths (data file, default sqlite:///mlflow.db, lock file)."""
    root = tmp_path / "project"
    (root / "data").mkdir(parents=True)
    make_text_dataset(300).to_csv(root / "data" / "raw.csv", index=False)
    params = {
        "data": {"source": "data/raw.csv", "label_column": "label",
                 "split": {"train": 0.6, "validation": 0.2, "test": 0.2}},
        "model": {"base": str(tiny_bert_dir), "max_length": 32},
        "train": {"learning_rate": 1e-2, "batch_size": 16, "eval_batch_size": 64, "epochs": 2,
                  "warmup_ratio": 0.0},
        "tune": {"enabled": False},
        "export": {"variants": ["int8"], "drift_samples": 20},
        "registry": {"model_name": "api-test"},
    }
    (root / "params.yaml").write_text(yaml.safe_dump(params))
    monkeypatch.delenv("MLFLOW_TRACKING_URI")  # params' own relative sqlite:///mlflow.db, as a user's project has
    elsewhere = tmp_path / "notebooks"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    return root


def test_stages_run_from_another_folder_write_into_the_project(project: Path) -> None:
    cwd = Path.cwd()
    reports = [
        sftops.stages.source(project),
        sftops.stages.prepare(project),
        sftops.stages.tune(project),
        sftops.stages.train(project),
        sftops.stages.evaluate(str(project)),
        sftops.stages.export(project),
        sftops.stages.register(project, sftops.load_params(project / "params.yaml")),
    ]
    assert Path.cwd() == cwd and os.listdir(cwd) == []  # nothing written where the caller stands
    assert [r.stage for r in reports] == ["source", "prepare", "tune", "train", "evaluate", "export", "register"]
    source, prepare, tune, train, evaluate, export, register = reports
    for report in reports:
        assert isinstance(report, sftops.StageReport) and report.project == project
        for path in report.outputs.values():
            assert path.is_absolute() and path.is_relative_to(project) and path.exists(), (report.stage, path)
    assert source.outputs["fingerprint"] == project / "data" / "source.json"
    assert prepare.outputs["prepared"] == project / "data" / "prepared"
    assert prepare.metrics["rows_kept"] == 300 and sum(prepare.metrics[f"{s}.total"] for s in
                                                       ("train", "validation", "test")) == 300
    assert tune.outputs["best_params"] == project / "models" / "best_params.json" and tune.best_params == {}
    assert train.outputs["model"] == project / "models" / "model"
    assert export.outputs["bundle"] == project / "models" / "onnx" and "fp32" in export.published
    assert register.outputs["registration"] == project / "models" / "registration.json"
    assert (register.name, register.version, register.decision, register.champion) == ("api-test", "1", "promoted", "1")

    # the stages that log name their runs, in the project's own relative sqlite store
    db = project / "mlflow.db"
    assert db.is_file() and not (cwd / "mlflow.db").exists()
    store = f"sqlite:///{db}"
    for report in (train, evaluate, export, register):
        assert report.tracking_uri == store and report.experiment == "sftops" and len(report.run_ids) == 1
        run = MlflowClient(store).get_run(report.run_id)
        assert run.data.tags["sftops.stage"] == report.stage
    assert source.run_ids == prepare.run_ids == () and source.tracking_uri is None

    # the files each stage writes agree with its report
    assert json.loads((project / "metrics" / "train.json").read_text())["run_id"] == train.run_id
    assert json.loads((project / "metrics" / "eval.json").read_text())["run_id"] == evaluate.run_id
    assert evaluate.metrics["fine_tuned.macro_f1"] == pytest.approx(evaluate.results["fine_tuned"]["macro_f1"])
    exported = json.loads((project / "metrics" / "export.json").read_text())
    assert exported["mlflow_run_id"] == export.run_id and exported["int8.f1_delta"] == export.metrics["int8.f1_delta"]
    registration = json.loads(register.outputs["registration"].read_text())
    assert (registration["version"], registration["run_id"]) == (register.version, register.run_id)

    # the register stage attached the version's HTML report, naming the decision it shows
    version = MlflowClient(store).get_model_version("api-test", "1")
    assert version.tags["sftops.report"] == "report/report.html"
    html = Path(MlflowClient(store).download_artifacts(register.run_id, "report/report.html", str(project / "downloaded")))
    assert "promoted" in html.read_text(encoding="utf-8")


def test_missing_project_or_params_is_one_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError, match=r"project folder .*nowhere: not found; pass the folder that holds params.yaml"):
        sftops.stages.prepare(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigError, match=r"project folder .*empty: no params.yaml in it"):
        sftops.stages.train(tmp_path / "empty")
    assert Path.cwd() == tmp_path


def test_a_failing_stage_restores_the_working_folder(project: Path) -> None:
    cwd = Path.cwd()
    (project / "data" / "raw.csv").unlink()
    with pytest.raises(DataError):
        sftops.stages.prepare(project)
    assert Path.cwd() == cwd and not (project / "data" / "prepared").exists()


def test_import_sftops_is_cheap_and_lazy() -> None:
    import subprocess
    import sys

    code = ("import sys, sftops; heavy = ('torch', 'transformers', 'mlflow', 'sftops.config');"
            "print(sorted(m for m in heavy if m in sys.modules)); sftops.stages; sftops.Params;"
            "print(sorted(m for m in heavy if m in sys.modules)); print(sftops.stages.export.__module__)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    assert out.stdout.splitlines() == ["[]", "['sftops.config']", "sftops.stages._export"]
    assert {"stages", "Params", "load_params", "SftopsError", "StageReport", "RegisterReport"} <= set(sftops.__all__)
    assert all(getattr(sftops, name) is not None for name in sftops.__all__)
