"""Fixtures for the tune/train/evaluate tests: small prepared splits and params for the tiny BERT."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from sftops.config import Params, parse_params


@pytest.fixture(scope="session")
def prepared_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """data/prepared/ for 300 synthetic texts with learnable labels (180 train / 60 validation / 60 test)."""
    from sftops.config import DataConfig
    from sftops.data.prepare import prepare
    from sftops.testing import make_text_dataset

    root = tmp_path_factory.mktemp("prepared")
    make_text_dataset(300).to_csv(root / "data.csv", index=False)
    cfg = DataConfig(source=str(root / "data.csv"), label_column="label",
                     split={"train": 0.6, "validation": 0.2, "test": 0.2})
    prepare(cfg, root / "prepared")
    return root / "prepared"


@pytest.fixture
def make_params(tiny_bert_dir: Path) -> Callable[..., Params]:
    """A factory of params that train the tiny BERT to near-perfect validation F1 in seconds on one thread."""
    return lambda **sections: _tiny_params(tiny_bert_dir, **sections)


def _tiny_params(base: Path, **sections: dict[str, Any]) -> Params:
    raw: dict[str, Any] = {
        "model": {"base": str(base), "max_length": 32},
        "train": {"learning_rate": 1e-2, "batch_size": 16, "eval_batch_size": 64, "epochs": 4,
                  "warmup_ratio": 0.0, "early_stopping_patience": 3},
        "tune": {"n_trials": 2, "max_retries": 0, "search_space": {}},
    }
    for name, values in sections.items():
        raw[name] = {**raw.get(name, {}), **values}
    return parse_params(raw)


@pytest.fixture(autouse=True)
def _one_thread() -> None:
    import torch

    torch.set_num_threads(1)
