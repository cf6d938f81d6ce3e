"""A stable split: each example's split is a salted hash of its text, so new data only adds rows.

Adding rows (more source data, merged feedback) never moves an existing row to another
split: a row's split depends on nothing but its normalised text and `data.split_salt`.
The per-split caps take rows in a second hashed order, so a capped-out row is simply
unused, never moved. Rows from extra sources go to the training split unless
`data.extra_sources_split` is `hash`.

A dataset that gives its own splits (a file per split, or a split column: the `split` column of the
cleaned frame) keeps them: a given validation or test row stays there, whatever it hashes to. A split
the dataset does not give is carved out of its training rows by the same text hash, in the
proportions of `data.split`, so the given test split is the same whatever the training data.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd

from ..config import DataConfig
from ..exceptions import DataError
from ..paths import SPLITS
from .keys import split_bucket

_CAP_ORDER = "/cap-order"  # appended to the salt: the order in which caps take rows, independent of the split


def _allocate(total: int, weights: dict[str, float], minimum: int = 1) -> dict[str, int]:
    """Split `total` items by `weights` (largest remainder), giving each part at least `minimum`."""
    raw = {k: total * w for k, w in weights.items()}
    sizes = {k: max(minimum, int(v)) for k, v in raw.items()}
    order = sorted(raw, key=lambda k: (-(raw[k] - int(raw[k])), k))
    i = 0
    while sum(sizes.values()) < total:
        sizes[order[i % len(order)]] += 1
        i += 1
    while sum(sizes.values()) > total:
        biggest = max(sorted(sizes), key=sizes.__getitem__)
        sizes[biggest] -= 1
    return sizes


def _bounds(cfg: DataConfig) -> dict[str, tuple[float, float]]:
    """Each split's interval of split buckets: train [0, t), validation [t, t+v), test [t+v, 1)."""
    t, v = cfg.split.train, cfg.split.validation
    return {"train": (0.0, t), "validation": (t, t + v), "test": (t + v, 1.0)}


def hashed_split_of(bucket: float, cfg: DataConfig) -> str:
    """The split whose interval holds `bucket`."""
    for split, (_, hi) in _bounds(cfg).items():
        if bucket < hi:
            return split
    return SPLITS[-1]


def _fill_empty_splits(buckets: np.ndarray, assigned: np.ndarray, cfg: DataConfig) -> None:
    """Give every split at least one row of a small label, in place: a split that hashing left empty takes
    the row whose bucket is nearest its interval, from a split that keeps at least one (deterministic)."""
    bounds = _bounds(cfg)
    for split in SPLITS:
        if (assigned == split).any():
            continue
        lo, hi = bounds[split]
        counts = {s: int((assigned == s).sum()) for s in SPLITS}
        donors = np.array([counts[s] > 1 for s in assigned])
        distance = np.where(buckets < lo, lo - buckets, buckets - hi)
        pick = int(np.argmin(np.where(donors, distance, np.inf)))
        assigned[pick] = split


def _cap(rows: pd.DataFrame, cap: int) -> pd.DataFrame:
    """Keep `cap` rows with the label proportions of `rows`, each label's first rows in cap order."""
    counts = rows["label"].value_counts()
    if cap < len(counts):
        raise DataError(f"a split cap of {cap} is smaller than the number of labels ({len(counts)}); raise data.max_samples")
    sizes = _allocate(cap, {str(k): v / len(rows) for k, v in counts.items()})
    return pd.concat([rows[rows["label"] == label].nsmallest(sizes[str(label)], "order") for label in sorted(counts.index)])


def given_splits(frame: pd.DataFrame) -> set[str]:
    """The splits the dataset gives its source rows (empty: every split is the hash's to choose)."""
    if "split" not in frame:
        return set()
    source = frame["split"] if "extra" not in frame else frame.loc[~frame["extra"], "split"]
    return set(source) - {""}


def _carved(bucket: float, cfg: DataConfig, given: set[str]) -> str:
    """The split of a training (or unsplit) row when the dataset gives `given` splits: its hashed split if the
    dataset does not give that one, else train."""
    split = hashed_split_of(bucket, cfg)
    return "train" if split in given else split


def _given_assignment(frame: pd.DataFrame, cfg: DataConfig, given: set[str]) -> pd.Series:
    """Each row's split when the dataset gives `given`: validation/test rows keep theirs, the rest are carved."""
    carve = frame["split"].isin(["train", ""])
    if cfg.extra_sources_split == "train":
        carve &= ~frame["extra"]
    assigned = frame["split"].where(frame["split"] != "", "train").astype(object)
    assigned[carve] = [_carved(b, cfg, given) for b in frame.loc[carve, "bucket"]]
    return assigned


def held_out(frame: pd.DataFrame, cfg: DataConfig) -> pd.Series:
    """Source rows left out of every split: their text is also an extra row (clean() marks them `also_extra`)
    and lands in validation or test, while extra rows go to train; a model may have trained on the text as an
    extra row before the source had it, so it must not be a test row (and the extra copy must not train)."""
    if cfg.extra_sources_split == "hash" or "also_extra" not in frame:
        return pd.Series(False, index=frame.index)
    given = given_splits(frame)
    if given:
        buckets = frame.assign(bucket=[split_bucket(t, cfg.split_salt) for t in frame["text"]])
        return frame["also_extra"] & (_given_assignment(buckets, cfg, given) != "train")
    return frame["also_extra"] & frame["text"].map(lambda t: split_bucket(t, cfg.split_salt) >= cfg.split.train)


def stratified_split(frame: pd.DataFrame, cfg: DataConfig) -> dict[str, pd.DataFrame]:
    """Assign each row its hashed split (every split gets each label), cap the source rows, keep every extra row.

    With given splits (see the module doc) the dataset's own splits are kept and nothing is stratified."""
    return _split(frame, cfg, by_label=True)


def hashed_split(frame: pd.DataFrame, cfg: DataConfig) -> dict[str, pd.DataFrame]:
    """As `stratified_split` without labels (token classification): each row's hashed (or given) split; caps take
    rows in the hashed cap order."""
    return _split(frame, cfg, by_label=False)


def _split(frame: pd.DataFrame, cfg: DataConfig, *, by_label: bool) -> dict[str, pd.DataFrame]:
    frame = frame[~held_out(frame, cfg)]
    extra = frame["extra"] if "extra" in frame else pd.Series(False, index=frame.index)
    frame = frame.assign(
        extra=extra,
        split=frame.get("split", ""),
        bucket=[split_bucket(t, cfg.split_salt) for t in frame["text"]],
        order=[split_bucket(t, cfg.split_salt + _CAP_ORDER) for t in frame["text"]],
    )
    given = given_splits(frame)
    if given:
        assigned = _given_assignment(frame, cfg, given)
        empty = [s for s in SPLITS if not (assigned == s).any()]
        if "train" in empty:
            raise DataError("the dataset gives no training rows (after cleaning); give a train file or train values "
                            "in data.split_values, the rows other splits are carved from")
        if empty:
            raise DataError(f"too few training rows to carve the {' and '.join(empty)} split out of; add rows or give "
                            f"that split its own rows")
    elif by_label:
        assigned = _stratified_assignment(frame, cfg)
    else:
        assigned = pd.Series([hashed_split_of(b, cfg) for b in frame["bucket"]], index=frame.index, dtype=object)
        if cfg.extra_sources_split == "train":
            assigned[frame["extra"]] = "train"
        empty = [s for s in SPLITS if not (assigned == s).any()]
        if empty:
            raise DataError(f"only {len(frame)} sentences after cleaning leave the {'/'.join(empty)} split empty; "
                            f"add sentences")
    caps = {"train": cfg.max_samples.train, "validation": cfg.max_samples.validation, "test": cfg.max_samples.test}
    out = {}
    for split in SPLITS:
        data = frame[assigned == split]
        cap = caps[split]
        # caps subsample the main source only: rows from extra sources (e.g. labelled feedback merged by
        # `sftops retrain`) are few and valuable, so all of them stay
        if cap is not None and (~data["extra"]).sum() > cap:
            source = data[~data["extra"]]
            kept = _cap(source, cap) if by_label else source.nsmallest(cap, "order")
            data = pd.concat([kept, data[data["extra"]]])
        data = data.sort_values("order", kind="stable").drop(columns=["bucket", "order", "also_extra", "split"],
                                                             errors="ignore")
        out[split] = data.reset_index(drop=True)
    return out


def _stratified_assignment(frame: pd.DataFrame, cfg: DataConfig) -> pd.Series:
    """Each row's hashed split, per label, with every split given at least one row of each label."""
    hashed = frame if cfg.extra_sources_split == "hash" else frame[~frame["extra"]]
    counts = hashed["label"].value_counts()
    too_small = {str(label): int(n) for label, n in counts.items() if n < len(SPLITS)}
    if too_small:
        raise DataError(
            f"labels {too_small} have fewer than {len(SPLITS)} examples after cleaning, but every split needs "
            f"at least one of each label; add examples or remove those labels"
        )
    assigned = pd.Series("train", index=frame.index, dtype=object)
    for label in sorted(counts.index):
        rows = hashed[hashed["label"] == label]
        buckets = rows["bucket"].to_numpy()
        splits = np.array([hashed_split_of(b, cfg) for b in buckets], dtype=object)
        _fill_empty_splits(buckets, splits, cfg)
        assigned[rows.index] = splits
    return assigned


def fingerprint(splits: dict[str, pd.DataFrame]) -> str:
    """A content hash of the splits (which text went where, with which label, or which tags)."""
    digest = hashlib.sha256()
    for split in SPLITS:
        frame = splits[split]
        labels = frame["label"] if "tags" not in frame else frame["tags"].map(" ".join)
        for text, label in zip(frame["text"], labels):
            digest.update(f"{split}\t{label}\t{text}\n".encode())
    return digest.hexdigest()
