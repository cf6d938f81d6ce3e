"""The installed `sftops` command: help lists the stages, errors are one line with exit code 1."""

from __future__ import annotations

import ast
import subprocess
import sys
import time
from importlib.metadata import EntryPoint
from pathlib import Path

import pytest

import sftops.cli
from sftops.cli import GROUP, commands

SFTOPS = str(Path(sys.executable).parent / "sftops")
HELP = {
    "source": "Fingerprint the raw data source into data/source.json, so that editing the dataset reruns prepare",
    "prepare": "Load, clean, label-map and split the dataset into data/prepared/",
    "tune": "Optuna search over the params' search space; writes models/best_params.json",
    "train": "Fine-tune with the best params; writes models/model/",
    "evaluate": "Test-set metrics vs. the untuned model and a classic baseline (TF-IDF + LogReg, a CRF for NER); writes metrics/eval.json",
    "export": "Export the model to ONNX, check parity, build variants; writes models/onnx/",
    "register": "Register the model in MLflow and run the promotion gate; writes models/registration.json",
    "promote": "Move the champion alias to a version (audited)",
    "rollback": "Move the champion alias back to the previous champion (audited)",
    "retrain": "Merge feedback and rerun the pipeline if a trigger fired",
    "serve": "Serve a registered model over HTTP with ONNX Runtime",
}


def _run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([SFTOPS, *args], capture_output=True, text=True, cwd=cwd, timeout=120)


def test_help_lists_every_command_with_its_help_and_is_quick() -> None:
    start = time.monotonic()
    proc = _run("--help")
    elapsed = time.monotonic() - start
    assert proc.returncode == 0
    flat = " ".join(proc.stdout.split())  # argparse wraps long help lines
    for name, text in HELP.items():
        assert f"{name} {text}" in flat
    assert list(commands())[:7] == ["source", "prepare", "tune", "train", "evaluate", "export", "register"]  # dvc.yaml's order
    assert elapsed < 10  # heavy libraries are imported lazily, per command


def test_commands_come_from_entry_points_under_install_names_that_cannot_clash() -> None:
    found = commands()
    assert set(HELP) <= set(found)
    assert found["train"].value == "sftops_pipelines.train:main"
    assert found["serve"].value == "sftops_serving.cli:main"
    assert all(ep.module.split(".")[0] in ("sftops", "sftops_pipelines", "sftops_serving") for ep in found.values())


def test_sftops_cli_names_no_package_above_sftops() -> None:
    tree = ast.parse(Path(sftops.cli.__file__).read_text(encoding="utf-8"))
    docstrings = {id(n.value) for n in ast.walk(tree) if isinstance(n, ast.Expr)}
    named = [n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
    named += [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
    named += [n.value for n in ast.walk(tree)  # every string but docstrings: no importlib.import_module("serving...")
              if isinstance(n, ast.Constant) and isinstance(n.value, str) and id(n) not in docstrings]
    assert not [name for name in named if "pipelines" in name or "serving" in name]
    code = "import sys, sftops.cli; sftops.cli.commands(); print(sorted(m for m in sys.modules if 'pipelines' in m or 'serving' in m))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60).stdout
    assert out.strip() == "[]"


def test_unknown_command_is_an_error() -> None:
    proc = _run("bogus")
    assert proc.returncode == 2 and "unknown command 'bogus'" in proc.stderr


def test_command_whose_module_is_not_installed_says_so(monkeypatch: pytest.MonkeyPatch,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    ghost = EntryPoint("ghost", "sftops_nowhere.ghost:main", GROUP)
    monkeypatch.setattr(sftops.cli, "commands", lambda: {"ghost": ghost})
    assert sftops.cli.main(["ghost"]) == 2
    assert capsys.readouterr().err.strip() == "sftops ghost: not available in this version"
    assert sftops.cli.command_help("ghost", ghost) == "(not available in this version)"


def test_stage_without_params_file_fails_in_one_line(tmp_path: Path) -> None:
    proc = _run("prepare", cwd=tmp_path)
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == [
        "sftops prepare: error: params.yaml: params file not found; run from the project folder or pass --params PATH"
    ]


def test_stage_with_bad_params_names_the_key(tmp_path: Path) -> None:
    (tmp_path / "params.yaml").write_text("train:\n  learning_rate: -0.1\n")
    proc = _run("prepare", cwd=tmp_path)
    assert proc.returncode == 1
    assert "train.learning_rate: Input should be greater than 0, got -0.1" in proc.stderr
    assert "Traceback" not in proc.stderr
