"""The console of a stage process: short, one closing summary line, no library chatter; bars as lines off a terminal."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys

import yaml

from sftops.console import progress, progress_bar


def test_tune_stage_console_is_short_with_a_summary_and_no_library_chatter(tmp_path, prepared_dir, tiny_bert_dir):
    shutil.copytree(prepared_dir, tmp_path / "data" / "prepared")
    params = {"model": {"base": str(tiny_bert_dir), "max_length": 32}, "train": {"epochs": 1},
              "tune": {"n_trials": 1, "max_train_samples": 40, "max_eval_samples": 20,
                       "search_space": {"train.learning_rate": {"type": "float", "low": 1e-4, "high": 2e-4}}}}
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    done = subprocess.run([sys.executable, "-m", "sftops.cli", "tune"], cwd=tmp_path, capture_output=True, text=True,
                          timeout=300)
    out = done.stdout + done.stderr
    assert done.returncode == 0, out
    lines = out.splitlines()
    assert re.search(r"^\d\d:\d\d:\d\d tune done in .* -> models/best_params\.json; MLflow run [0-9a-f]{32} "
                     r"\(experiment 'sftops' at sqlite:///\S+\)$", out, re.MULTILINE), out
    assert any(line.startswith("tune trials: 1/1 trial [") and "best=" in line for line in lines), out
    for noise in ("INFO mlflow", "[I 20", "ExperimentalWarning", "View run", "Creating initial MLflow database",
                  "alembic", "Trial 0 finished", "too small to compute importances"):
        assert noise not in out, f"{noise!r} in:\n{out}"
    assert len(lines) <= 15, out


def test_a_bar_off_a_terminal_is_a_few_lines_with_an_eta(capsys):
    assert list(progress(range(50), desc="steps", unit="step")) == list(range(50))
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 11 and lines[0].startswith("steps: 1/50 step [00:00 < ETA ") and lines[-1] == "steps: 50/50 step [00:00]"
    assert lines[1].startswith("steps: 5/50 step [")
    with progress_bar(None, desc="trials", unit="trial") as bar:
        for _ in range(3):
            bar.update(best=0.51234)
    assert capsys.readouterr().err.splitlines() == ["trials: 1 trial [00:00] best=0.5123"]


def test_our_packages_log_at_info_and_libraries_stay_at_warning(monkeypatch) -> None:
    import logging

    from sftops.console import setup_console

    monkeypatch.delenv("SFTOPS_LOG_LEVEL", raising=False)
    names = ("sftops.x", "sftops_serving.batcher", "serving.batcher", "pipelines.train", "optuna.study")
    before = {name: logging.getLogger(name.split(".")[0]).level for name in names}
    handlers = list(logging.getLogger().handlers)
    try:
        setup_console()
        # the server's own lines ("queue drained") must survive the console set-up that `sftops serve` runs too
        assert [logging.getLogger(n).isEnabledFor(logging.INFO) for n in names] == [True, True, True, True, False]
    finally:
        for name, level in before.items():
            logging.getLogger(name.split(".")[0]).setLevel(level)
        logging.getLogger().handlers[:] = handlers
        logging.captureWarnings(False)
