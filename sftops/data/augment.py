"""data.augment: perturbed copies of training texts (typos, swapped or dropped words) with nlpaug's offline augmenters.

Small training sets are the case the SFT textbooks augment; whether it pays here is measured by
bench/augment_effect.py. Only the training split is ever augmented, and only for classification (the label of a
text survives a typo; an entity tag does not survive a word being dropped or split).
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import pandas as pd

from ..config import AugmentConfig
from ..exceptions import ConfigError


def check_augment(cfg: AugmentConfig, task: str) -> None:
    """Refuse data.augment for a task it cannot keep labels for.

    Raises:
        ConfigError: augmentation is on and the task is not classification."""
    if cfg.enabled and task != "classification":
        raise ConfigError(f"data.augment works for task classification only (a typo or a dropped word would shift the "
                          f"tags of {task}); set data.augment.enabled: false")


def augment_frame(frame: pd.DataFrame, cfg: AugmentConfig) -> pd.DataFrame:
    """`cfg.copies` perturbed copies of each row of `frame` (its other columns kept), copies equal to the source dropped.

    Deterministic: the same rows in the same order and the same cfg give the same copies."""
    augmenters = [_augmenter(name, cfg.probability) for name in cfg.augmenters]
    rows: list[dict[str, Any]] = []
    with _seeded(cfg.seed):
        chooser = random.Random(cfg.seed)
        for row in frame.to_dict("records"):
            for _ in range(cfg.copies):
                text = _first(augmenters[chooser.randrange(len(augmenters))].augment(row["text"]))
                if text and text.strip() and text != row["text"]:
                    rows.append({**row, "text": text})
    return pd.DataFrame(rows, columns=frame.columns)


def _augmenter(name: str, p: float) -> Any:
    """The nlpaug augmenter called `name` in params, changing a share `p` of the words (with typos, for char ones)."""
    import nlpaug.augmenter.char as nac  # type: ignore[import-untyped]
    import nlpaug.augmenter.word as naw  # type: ignore[import-untyped]

    chars = {"aug_word_p": p, "aug_char_p": 0.3}  # 0.3: nlpaug's default share of a chosen word's characters
    match name:
        case "keyboard":
            return nac.KeyboardAug(**chars)
        case "char_swap" | "char_insert" | "char_delete":
            return nac.RandomCharAug(action=name.removeprefix("char_"), **chars)
        case "word_swap" | "word_delete":
            return naw.RandomWordAug(action=name.removeprefix("word_"), aug_p=p)
        case "word_split":
            return naw.SplitAug(aug_p=p)
    raise ValueError(f"unknown augmenter {name!r}")  # AugmentConfig lists the names


def _first(result: Any) -> str:
    """nlpaug returns a list of texts (or a text, in older versions)."""
    if isinstance(result, list):
        return str(result[0]) if result else ""
    return str(result)


@contextmanager
def _seeded(seed: int) -> Iterator[None]:
    """Seed the global `random` and numpy generators nlpaug draws from, and restore them afterwards."""
    state, np_state = random.getstate(), np.random.get_state()
    random.seed(seed)
    np.random.seed(seed)
    try:
        yield
    finally:
        random.setstate(state)
        np.random.set_state(np_state)
