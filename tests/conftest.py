"""Shared fixtures: markers by folder, a fresh MLflow store per test, real servers, tiny models."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from sftops.config import Params, parse_params

ROOT = Path(__file__).resolve().parent.parent
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
# a dead test server should fail a test in seconds, not after minutes of retries with backoff
os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "2")
os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "60")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        parts = Path(str(item.fspath)).relative_to(ROOT / "tests").parts
        if parts and parts[0] in ("unit", "integration", "e2e"):
            item.add_marker(getattr(pytest.mark, parts[0]))


@pytest.fixture(autouse=True)
def _isolated_mlflow(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Each test gets its own SQLite MLflow store (unless it asks for a server), and leaves no MLflow state behind."""
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow-isolated.db'}")
    yield
    _reset_mlflow_globals()


def _reset_mlflow_globals() -> None:
    """Undo the process-wide MLflow state sftops.tracking.connect sets: active run, tracking URI, active experiment
    and MLFLOW_EXPERIMENT_ID (exported for subprocesses), so no test sees another's store."""
    import mlflow
    import mlflow.tracking.fluent as fluent

    while mlflow.active_run() is not None:
        mlflow.end_run()
    mlflow.set_tracking_uri(None)
    fluent._active_experiment_id = None
    os.environ.pop("MLFLOW_EXPERIMENT_ID", None)


@pytest.fixture(scope="session")
def reset_mlflow_globals() -> Callable[[], None]:
    """The reset every test gets afterwards, for module fixtures that connect to tracking themselves."""
    return _reset_mlflow_globals


@pytest.fixture(scope="session")
def mlflow_server_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A real `mlflow server` on 127.0.0.1 with a SQLite backend, shared by the session."""
    from sftops.testing.servers import mlflow_server

    with mlflow_server(tmp_path_factory.mktemp("mlflow-server")) as url:
        yield url


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """A real throwaway PostgreSQL cluster on 127.0.0.1 with an empty `optuna` database."""
    from sftops.testing.servers import postgres_server

    with postgres_server() as url:
        yield url


@pytest.fixture(scope="session")
def tiny_bert_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny randomly initialised BERT folder with the real MiniLM tokenizer."""
    from sftops.testing import make_tiny_bert

    return make_tiny_bert(tmp_path_factory.mktemp("tiny-bert") / "model")


@pytest.fixture(scope="session")
def tiny_classifier_dir(tiny_bert_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny BERT as a saved 3-label sequence classifier (fresh seeded head), what the export stage reads."""
    from sftops.testing import save_classifier

    return save_classifier(tiny_bert_dir, tmp_path_factory.mktemp("tiny-classifier") / "model")


@pytest.fixture(scope="session")
def prepared_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """data/prepared/ for 300 synthetic texts with learnable labels (hash split 0.6/0.2/0.2: 180 / 63 / 57)."""
    from sftops.config import DataConfig
    from sftops.data import prepare_dataset
    from sftops.testing import make_text_dataset

    root = tmp_path_factory.mktemp("prepared")
    make_text_dataset(300).to_csv(root / "data.csv", index=False)
    cfg = DataConfig(source=str(root / "data.csv"), label_column="label",
                     split={"train": 0.6, "validation": 0.2, "test": 0.2})
    prepare_dataset(cfg, root / "prepared")
    return root / "prepared"


@pytest.fixture
def make_params(tiny_bert_dir: Path) -> Callable[..., Params]:
    """A factory of params that train the tiny BERT in seconds on one thread (well above chance; see tests/unit/training/test_stage.py).

    `make_params(task="token_classification", train={...})`: the task, then any sections to override."""
    return lambda task="classification", **sections: _tiny_params(tiny_bert_dir, task, **sections)


def _tiny_params(base: Path, task: str = "classification", **sections: dict[str, Any]) -> Params:
    raw: dict[str, Any] = {
        "task": task,
        "model": {"base": str(base), "max_length": 32},
        "train": {"learning_rate": 1e-2, "batch_size": 16, "eval_batch_size": 64, "epochs": 4,
                  "warmup_ratio": 0.0, "early_stopping_patience": 3},
        "tune": {"n_trials": 2, "max_retries": 0, "search_space": {}},
    }
    for name, values in sections.items():
        raw[name] = {**raw.get(name, {}), **values}
    return parse_params(raw)


@pytest.fixture(autouse=True)
def _one_torch_thread() -> None:
    """Torch, once something imported it, runs each test on one thread (the tiny BERT gains nothing from more).

    Never imports torch itself: the serving tests (batcher, HTTP app) must run without it.
    """
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_num_threads(1)
