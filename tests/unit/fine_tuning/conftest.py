"""Tune/train/evaluate tests run torch on one thread: the tiny BERT gains nothing from more."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _one_thread() -> None:
    import torch

    torch.set_num_threads(1)
