"""`dvc repro prepare` in a fresh git repo made from the project's files: outputs, caching, reruns (params, raw data)."""

from __future__ import annotations

import json
from pathlib import Path

from sftops.testing import make_text_dataset
from sftops.testing.project import make_project_copy, run, update_params


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

    update_params(repo, data={"split_salt": "another salt"})
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


def _prepared_fingerprint(repo: Path) -> str:
    return json.loads((repo / "data/prepared/meta.json").read_text())["fingerprint"]


def test_editing_the_raw_source_reruns_prepare_and_an_unchanged_one_does_not(tmp_path: Path) -> None:
    repo = make_project_copy(tmp_path / "proj")
    rows = make_text_dataset(120, ("negative", "neutral", "positive"), seed=1)
    (repo / "data/raw.csv").write_text(rows.to_csv(index=False))
    update_params(repo, data={"source": "data/raw.csv", "label_column": "label"})
    run(["dvc", "repro", "prepare"], repo)
    first = _prepared_fingerprint(repo)

    # an edited dataset: prepare reruns and data/prepared changes
    more = make_text_dataset(150, ("negative", "neutral", "positive"), seed=2)
    (repo / "data/raw.csv").write_text(more.to_csv(index=False))
    edited = run(["dvc", "repro", "prepare"], repo)
    assert "Running stage 'prepare'" in edited.stdout
    assert _prepared_fingerprint(repo) != first
    assert json.loads((repo / "data/prepared/meta.json").read_text())["rows_read"] == 150

    # same bytes rewritten (newer mtime): the source stage runs, prepare does not
    (repo / "data/raw.csv").write_text(more.to_csv(index=False))
    again = run(["dvc", "repro", "prepare"], repo)
    assert "Running stage 'source'" in again.stdout and "Stage 'prepare' didn't change, skipping" in again.stdout
    status = json.loads(run(["dvc", "status", "--json"], repo).stdout)
    assert status["source"] == ["always changed"] and "prepare" not in status

    # a new file matching data.extra_sources (labelled feedback) reruns it too
    (repo / "data/feedback/feedback.csv").write_text("text,label\na brand new feedback text,positive\n")
    extra = run(["dvc", "repro", "prepare"], repo)
    assert "Running stage 'prepare'" in extra.stdout
    assert json.loads((repo / "data/prepared/meta.json").read_text())["extra_sources"]["rows_read"] == 1

    fingerprint = json.loads((repo / "data/source.json").read_text())
    assert fingerprint["source"]["name"] == "data/raw.csv"
    assert [f["path"] for f in fingerprint["source"]["files"]] == ["data/raw.csv"]  # relative: no home folder in it
    assert [f["path"] for f in fingerprint["extra_sources"][0]["files"]] == ["data/feedback/feedback.csv"]


def test_a_missing_source_file_fails_the_source_stage_with_one_line(tmp_path: Path) -> None:
    repo = make_project_copy(tmp_path / "proj")
    (repo / "params.yaml").write_text((repo / "params.yaml").read_text().replace(
        "source: builtin:tweets", "source: data/missing.csv"))
    proc = run(["dvc", "repro", "prepare"], repo, check=False)
    assert proc.returncode != 0
    errors = [line for line in proc.stderr.splitlines() if "sftops source: error:" in line]
    assert errors == ["sftops source: error: data.source: data/missing.csv does not exist; "
                      "give a CSV, JSON Lines, Parquet or CoNLL file or a datasets folder"]
    assert "Traceback" not in proc.stderr
    assert not (repo / "data/prepared").exists()


def test_token_classification_with_the_datasets_own_split_files(tmp_path: Path) -> None:
    import pandas as pd
    import yaml

    from sftops.testing.datasets import make_tagged_sentences, write_conll

    repo = make_project_copy(tmp_path / "proj")
    for name, n, seed in (("train", 60, 1), ("dev", 15, 2), ("test", 15, 3)):
        write_conll(repo / f"data/ner/{name}.conll", make_tagged_sentences(n, seed=seed), separator="\t")
    params = yaml.safe_load((repo / "params.yaml").read_text())
    params["task"] = "token_classification"
    params["registry"]["primary_metric"], params["tune"]["metric"] = "entity_f1", "eval_entity_f1"
    params["data"]["source"] = {"train": "data/ner/train.conll", "validation": "data/ner/dev.conll",
                                "test": "data/ner/test.conll"}
    (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    run(["dvc", "repro", "prepare"], repo)
    meta = json.loads((repo / "data/prepared/meta.json").read_text())
    assert meta["task"] == "token_classification" and meta["entity_types"] == ["LOC", "ORG", "PER"]
    assert [meta["counts"][s]["sentences"] for s in ("train", "validation", "test")] == [60, 15, 15]
    test_split = pd.read_parquet(repo / "data/prepared/test.parquet")

    # more training sentences: prepare reruns, the test split is the same
    write_conll(repo / "data/ner/train.conll", make_tagged_sentences(80, seed=1), separator="\t")
    rerun = run(["dvc", "repro", "prepare"], repo)
    assert "Running stage 'prepare'" in rerun.stdout
    assert json.loads((repo / "data/prepared/meta.json").read_text())["counts"]["train"]["sentences"] == 80
    assert pd.read_parquet(repo / "data/prepared/test.parquet").equals(test_split)
    fingerprint = json.loads((repo / "data/source.json").read_text())
    assert [fingerprint["source"][s]["files"][0]["path"] for s in ("train", "validation", "test")] == [
        "data/ner/train.conll", "data/ner/dev.conll", "data/ner/test.conll"]
