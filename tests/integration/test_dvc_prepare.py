"""`dvc repro prepare` in a fresh git repo made from the project's files: outputs, caching, reruns."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from sftops.testing.project import make_project_copy, run


def test_dvc_repro_prepare_caches_and_reruns_on_param_change(tmp_path: Path) -> None:
    repo = make_project_copy(tmp_path / "proj")
    run(["dvc", "repro", "prepare"], repo)
    meta = json.loads((repo / "data/prepared/meta.json").read_text())
    assert meta["counts"]["train"]["total"] == 3000
    assert meta["label_map"] == {"negative": 0, "neutral": 1, "positive": 2}
    assert (repo / "dvc.lock").is_file()
    train_keys = (repo / "data/prepared/train_keys.txt").read_text().split()
    assert len(train_keys) == 3000 and train_keys == sorted(train_keys)
    status = run(["dvc", "status", "prepare"], repo)
    assert "up to date" in status.stdout.lower() or status.stdout.strip() == ""
    again = run(["dvc", "repro", "prepare"], repo)
    assert "didn't change, skipping" in again.stdout

    params = yaml.safe_load((repo / "params.yaml").read_text())
    params["data"]["split_salt"] = "another salt"
    (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    rerun = run(["dvc", "repro", "prepare"], repo)
    assert "Running stage 'prepare'" in rerun.stdout
    assert json.loads((repo / "data/prepared/meta.json").read_text())["fingerprint"] != meta["fingerprint"]


def test_bad_params_fail_the_stage_with_one_line(tmp_path: Path) -> None:
    repo = make_project_copy(tmp_path / "proj")
    (repo / "params.yaml").write_text((repo / "params.yaml").read_text().replace("text_column: text", "text_column: body"))
    proc = run(["sftops", "prepare"], repo, check=False)
    assert proc.returncode == 1
    assert "sftops prepare: error:" in proc.stderr and "['body'] not found" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (repo / "data/prepared").exists()
