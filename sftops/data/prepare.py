"""The prepare stage: load, clean, label-map and split a dataset, and write data/prepared/ atomically."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from ..atomic import atomic_path, write_json
from ..config import DataConfig
from ..paths import PREPARED_DIR, SPLITS
from .clean import clean
from .labels import LabelMap
from .prepared import TRAIN_KEYS_FILE, split_keys
from .sources import load_source
from .split import fingerprint, held_out, stratified_split

log = logging.getLogger(__name__)


def prepare_dataset(cfg: DataConfig, out_dir: str | Path = PREPARED_DIR) -> dict[str, Any]:
    """Load, clean, label-map and split the dataset into `out_dir`; return the meta.json contents.

    Nothing is replaced unless all succeeds. `sftops.stages.prepare` runs it in a project folder.

    Raises:
        DataError: the source cannot be read or used (missing file or column, too few rows per label)."""
    raw = load_source(cfg)
    frame, report = clean(raw, cfg)
    label_map = LabelMap.from_labels(frame["label"], cfg.labels)
    splits = stratified_split(frame, cfg)
    meta: dict[str, Any] = {
        "source": raw.source,
        "text_column": cfg.text_column,
        "label_column": cfg.label_column,
        "split_salt": cfg.split_salt,
        "label_map": label_map.to_json(),
        "rows_read": report.rows_read,
        "rows_kept": report.rows_kept,
        "lines_decoded_with_fallback": raw.fallback_lines,
        "texts_repaired": report.repaired,
        "dropped": report.dropped,
        "extra_sources": {
            "rows_read": report.extra_rows_read,
            "rows_kept": report.extra_rows_kept,
            "split": cfg.extra_sources_split,
            "label_conflicts": report.feedback_conflicts,
            "conflict_policy": cfg.feedback_conflict,
            # source validation/test rows whose text is also an extra row: left out of every split
            "source_rows_held_out": int(held_out(frame, cfg).sum()),
        },
        "counts": {
            split: {"total": len(df), "per_label": {n: int((df["label"] == n).sum()) for n in label_map.names}}
            for split, df in splits.items()
        },
        "fingerprint": fingerprint(splits),
    }
    with atomic_path(out_dir) as tmp:
        tmp.mkdir()
        for split in SPLITS:
            df = splits[split]
            df.assign(label=label_map.encode(df["label"]), label_name=df["label"])[["text", "label", "label_name"]].to_parquet(
                tmp / f"{split}.parquet", index=False
            )
        write_json(tmp / "meta.json", meta)
        (tmp / TRAIN_KEYS_FILE).write_text("".join(f"{k}\n" for k in split_keys(splits["train"])), encoding="utf-8")
    dropped = ", ".join(f"{k}={v}" for k, v in report.dropped.items() if v) or "none"
    if report.feedback_conflicts:
        log.warning(
            "%d extra-source rows contradict a source label (data.feedback_conflict=%s)",
            report.feedback_conflicts, cfg.feedback_conflict,
        )
    log.info(
        "prepared %s: read %d, kept %d (dropped: %s); train/validation/test = %s -> %s",
        raw.source, report.rows_read, report.rows_kept, dropped,
        "/".join(str(meta["counts"][s]["total"]) for s in SPLITS), out_dir,
    )
    return meta
