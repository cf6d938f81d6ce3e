"""A seeded stratified train/validation/test split with optional per-split caps, and its fingerprint."""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd

from ..config import DataConfig
from ..exceptions import DataError
from ..paths import SPLITS


def _allocate(total: int, weights: dict[str, float], minimum: int = 1) -> dict[str, int]:
    """Split `total` items by `weights` (largest remainder), giving each part at least `minimum`."""
    raw = {k: total * w for k, w in weights.items()}
    sizes = {k: max(minimum, int(v)) for k, v in raw.items()}
    order = sorted(raw, key=lambda k: raw[k] - int(raw[k]), reverse=True)
    i = 0
    while sum(sizes.values()) < total:
        sizes[order[i % len(order)]] += 1
        i += 1
    while sum(sizes.values()) > total:
        biggest = max(sizes, key=sizes.get)
        sizes[biggest] -= 1
    return sizes


def stratified_split(frame: pd.DataFrame, cfg: DataConfig) -> dict[str, pd.DataFrame]:
    """Split each label's rows by the configured fractions (shuffled with `data.seed`), then cap the main source's rows."""
    fractions = {"train": cfg.split.train, "validation": cfg.split.validation, "test": cfg.split.test}
    counts = frame["label"].value_counts()
    too_small = {str(label): int(n) for label, n in counts.items() if n < len(SPLITS)}
    if too_small:
        raise DataError(
            f"labels {too_small} have fewer than {len(SPLITS)} examples after cleaning, but every split needs "
            f"at least one of each label; add examples or remove those labels"
        )
    rng = np.random.default_rng(cfg.seed)
    parts: dict[str, list[pd.DataFrame]] = {s: [] for s in SPLITS}
    for label in sorted(counts.index):
        rows = frame[frame["label"] == label]
        rows = rows.iloc[rng.permutation(len(rows))]
        sizes = _allocate(len(rows), fractions)
        start = 0
        for split in SPLITS:
            parts[split].append(rows.iloc[start : start + sizes[split]])
            start += sizes[split]
    caps = {"train": cfg.max_samples.train, "validation": cfg.max_samples.validation, "test": cfg.max_samples.test}
    out = {}
    for split in SPLITS:
        data = pd.concat(parts[split])
        cap = caps[split]
        # caps subsample the main source only: rows from extra sources (e.g. labelled
        # feedback merged by `sftops retrain`) are few and valuable, so all of them stay
        extra = data["extra"] if "extra" in data else pd.Series(False, index=data.index)
        if cap is not None and (~extra).sum() > cap:
            data = pd.concat([_stratified_cap(data[~extra], cap, rng), data[extra]])
        out[split] = data.iloc[rng.permutation(len(data))].reset_index(drop=True)
    return out


def _stratified_cap(data: pd.DataFrame, cap: int, rng: np.random.Generator) -> pd.DataFrame:
    """Keep `cap` rows with the label proportions of `data` (each label keeps at least one row)."""
    counts = data["label"].value_counts()
    if cap < len(counts):
        raise DataError(f"a split cap of {cap} is smaller than the number of labels ({len(counts)}); raise data.max_samples")
    sizes = _allocate(cap, {str(k): v / len(data) for k, v in counts.items()})
    kept = [data[data["label"] == label].iloc[: sizes[str(label)]] for label in counts.index]
    return pd.concat(kept)


def fingerprint(splits: dict[str, pd.DataFrame]) -> str:
    """A content hash of the splits (which text went where, with which label)."""
    digest = hashlib.sha256()
    for split in SPLITS:
        for text, label in zip(splits[split]["text"], splits[split]["label"]):
            digest.update(f"{split}\t{label}\t{text}\n".encode())
    return digest.hexdigest()
