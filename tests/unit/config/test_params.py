"""params.yaml parsing: defaults, the shipped file, and errors that name the key."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from sftops.config import Params, load_params, parse_params
from sftops.exceptions import ConfigError
from sftops.testing.project import PROJECT_ROOT

ROOT = PROJECT_ROOT


def test_shipped_params_files_parse() -> None:
    params = load_params(ROOT / "params.yaml")
    assert params.data.source == "builtin:tweets"
    assert params.data.split.train + params.data.split.validation + params.data.split.test == pytest.approx(1)
    if (ROOT / "params-full.yaml").exists():
        assert load_params(ROOT / "params-full.yaml").data.max_samples.train is None


def test_empty_mapping_gives_defaults() -> None:
    assert parse_params({}) == Params()


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({"data": {"split": {"train": 0.5, "validation": 0.1, "test": 0.1}}}, "data.split: train + validation + test must sum to 1"),
        ({"train": {"learning_rate": -1e-5}}, "train.learning_rate: Input should be greater than 0"),
        ({"train": {"batch_size": "big"}}, "train.batch_size"),
        ({"trian": {}}, "trian: unknown key"),
        ({"data": {"txt_column": "x"}}, "data.txt_column: unknown key"),
        ({"model": {"strategy": "bogus"}}, "model.strategy"),
        ({"data": {"min_chars": 10, "max_chars": 5}}, "min_chars (10) must not exceed max_chars (5)"),
        ({"data": {"max_samples": {"train": 0}}}, "data.max_samples.train"),
        ({"data": {"labels": ["a"]}}, "at least 2 classes"),
    ],
)
def test_bad_values_name_the_key(raw: dict, expected: str) -> None:
    with pytest.raises(ConfigError, match=expected.replace("(", r"\(").replace(")", r"\)").replace("+", r"\+")):
        parse_params(raw)


def test_several_problems_reported_at_once() -> None:
    with pytest.raises(ConfigError) as info:
        parse_params({"train": {"learning_rate": -1, "epochs": 0}})
    assert "train.learning_rate" in str(info.value) and "train.epochs" in str(info.value)


def test_missing_and_malformed_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="params file not found"):
        load_params(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("data: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_params(bad)
    scalar = tmp_path / "scalar.yaml"
    scalar.write_text("42\n")
    with pytest.raises(ConfigError, match="expected a mapping"):
        load_params(scalar)


def test_params_are_immutable() -> None:
    params = parse_params({})
    with pytest.raises(ValidationError, match="frozen"):
        params.train.learning_rate = 1.0  # type: ignore[misc]


def test_serve_workers_and_threads_split_the_cores_this_process_may_use(monkeypatch: pytest.MonkeyPatch) -> None:
    from sftops.config import ServeConfig

    for cores, workers, threads in ((1, 1, 1), (2, 2, 1), (16, 2, 8)):
        monkeypatch.setattr("os.sched_getaffinity", lambda _pid, n=cores: set(range(n)))
        auto = ServeConfig()
        assert (auto.worker_count(), auto.session_threads()) == (workers, threads)
    explicit = ServeConfig(workers=4, intra_op_threads=3)
    assert (explicit.worker_count(), explicit.session_threads()) == (4, 3)
    assert ServeConfig(workers=3).session_threads() == 5  # 16 cores / 3 workers
    with pytest.raises(Exception, match="workers"):
        ServeConfig(workers=-1)
