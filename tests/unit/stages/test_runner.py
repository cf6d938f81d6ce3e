"""Bad input to `sftops tune|train|evaluate`: one clear line, exit 1, nothing written."""

from __future__ import annotations

import shutil

import pytest
import yaml

from sftops.testing.servers import free_port


def _project(tmp_path, prepared_dir, tiny_bert_dir, **overrides):
    shutil.copytree(prepared_dir, tmp_path / "data" / "prepared")
    raw = {"model": {"base": str(tiny_bert_dir), "max_length": 32}, "train": {"epochs": 1},
           "tune": {"n_trials": 1, "search_space": {}}, "tracking": {"connect_timeout": 1}}
    for section, values in overrides.items():
        raw[section] = {**raw.get(section, {}), **values}
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(raw))


@pytest.mark.parametrize("stage", ["tune", "train", "evaluate"])
def test_unreachable_tracking_server_fails_before_any_work(stage, tmp_path, prepared_dir, tiny_bert_dir,
                                                          monkeypatch, capsys):
    from sftops.cli import main

    _project(tmp_path, prepared_dir, tiny_bert_dir)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"http://127.0.0.1:{free_port()}")
    assert main([stage]) == 1
    err = capsys.readouterr().err
    assert f"sftops {stage}: error: MLflow tracking server" in err and "unreachable" in err
    assert not (tmp_path / "models").exists() and not (tmp_path / "metrics").exists()


def test_base_folder_that_is_not_a_model_fails_train_cleanly(tmp_path, prepared_dir, tiny_bert_dir, monkeypatch, capsys):
    from sftops.cli import main

    (tmp_path / "not-a-model").mkdir()
    (tmp_path / "not-a-model" / "config.json").write_text("{}")
    _project(tmp_path, prepared_dir, tiny_bert_dir, model={"base": str(tmp_path / "not-a-model")})
    monkeypatch.chdir(tmp_path)
    assert main(["train", "--no-tuned"]) == 1
    assert "error: model.base:" in capsys.readouterr().err
    assert not (tmp_path / "models").exists()


def test_unknown_strategy_fails_tune_cleanly(tmp_path, prepared_dir, tiny_bert_dir, monkeypatch, capsys):
    from sftops.cli import main

    _project(tmp_path, prepared_dir, tiny_bert_dir, model={"strategy": "prefix"})
    monkeypatch.chdir(tmp_path)
    assert main(["tune"]) == 1
    assert "model.strategy" in capsys.readouterr().err
    assert not (tmp_path / "models").exists()
