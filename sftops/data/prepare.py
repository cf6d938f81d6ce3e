"""The prepare stage: load, clean, label-map and split a dataset, and write data/prepared/ atomically.

Classification writes text, label, label_name per row; token classification writes one sentence a row:
text (the tokens joined by single spaces), tokens, tags (IOB2 names) and tag_ids. meta.json names the task.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pandas as pd

from ..atomic import atomic_path, write_json
from ..config import DataConfig
from ..exceptions import DataError
from ..paths import PREPARED_DIR, SPLITS
from ..tagging import spans_of, tag_names
from .augment import augment_frame, check_augment
from .clean import clean
from .labels import LabelMap
from .prepared import TRAIN_KEYS_FILE, split_keys
from .sources import load_source
from .split import fingerprint, given_splits, hashed_split, held_out, stratified_split
from .token_clean import clean_sentences, configured_types
from .token_sources import load_sentences

log = logging.getLogger(__name__)


def prepare_dataset(cfg: DataConfig, out_dir: str | Path = PREPARED_DIR, task: str = "classification") -> dict[str, Any]:
    """Load, clean, label-map and split the dataset into `out_dir` for `task` (params.task); return meta.json's contents.

    Nothing is replaced unless all succeeds. `sftops.stages.prepare` runs it in a project folder.

    Raises:
        DataError: the source cannot be read or used (missing file or column, too few rows per label, no entities).
        ConfigError: data.augment is on for token classification."""
    check_augment(cfg.augment, task)
    if task == "token_classification":
        return _prepare_sentences(cfg, Path(out_dir))
    if task != "classification":
        raise ValueError(f"unknown task {task!r}")
    raw = load_source(cfg)
    frame, report = clean(raw, cfg)
    label_map = LabelMap.from_labels(frame["label"], cfg.labels)
    splits = stratified_split(frame, cfg)
    augmented = _augment_train(splits, cfg)
    meta = _meta(
        cfg, "classification", raw.source, label_map, frame, splits,
        columns={"text_column": cfg.text_column, "label_column": cfg.label_column},
        rows=(report.rows_read, report.rows_kept, raw.fallback_lines),
        cleaning={"texts_repaired": report.repaired, "dropped": report.dropped},
        extra=(report.extra_rows_read, report.extra_rows_kept, report.feedback_conflicts),
        counts={split: {"total": len(df), "per_label": {n: int((df["label"] == n).sum()) for n in label_map.names}}
                for split, df in splits.items()},
    )
    if augmented is not None:
        meta["augment"] = augmented
    _write(Path(out_dir), {split: df.assign(label=label_map.encode(df["label"]), label_name=df["label"])[
        ["text", "label", "label_name"]] for split, df in splits.items()}, meta)
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


def _meta(
    cfg: DataConfig, task: str, source: str, label_map: LabelMap, frame: pd.DataFrame, splits: dict[str, pd.DataFrame],
    *, columns: dict[str, Any], rows: tuple[int, int, int], cleaning: dict[str, Any], extra: tuple[int, int, int],
    counts: dict[str, Any],
) -> dict[str, Any]:
    """meta.json for either task: `columns` and `cleaning` hold the task's own keys; `rows` is (read, kept, lines
    decoded with the fallback encoding), `extra` is the extra sources' (read, kept, label conflicts)."""
    meta: dict[str, Any] = {
        "task": task,
        "source": source,
        **columns,
        "split_salt": cfg.split_salt,
        "label_map": label_map.to_json(),
        "rows_read": rows[0],
        "rows_kept": rows[1],
        "lines_decoded_with_fallback": rows[2],
        **cleaning,
        "extra_sources": {
            "rows_read": extra[0],
            "rows_kept": extra[1],
            "split": cfg.extra_sources_split,
            "label_conflicts": extra[2],
            "conflict_policy": cfg.feedback_conflict,
            # source validation/test rows whose text is also an extra row: left out of every split
            "source_rows_held_out": int(held_out(frame, cfg).sum()),
        },
        "counts": counts,
        "fingerprint": fingerprint(splits),
    }
    if given := given_splits(frame):
        meta["given_splits"] = sorted(given, key=SPLITS.index)
    return meta


def _augment_train(splits: dict[str, pd.DataFrame], cfg: DataConfig) -> dict[str, Any] | None:
    """Append data.augment's copies to the training split (in place); meta.json's `augment` entry, None when off."""
    if not cfg.augment.enabled:
        return None
    train = splits["train"]
    copies = augment_frame(train, cfg.augment)
    splits["train"] = pd.concat([train, copies], ignore_index=True)
    log.info("data.augment: %d augmented copies of %d training rows (%s)", len(copies), len(train),
             ", ".join(cfg.augment.augmenters))
    return {**cfg.augment.model_dump(exclude={"enabled"}), "source_rows": len(train), "rows_added": len(copies)}


def _write(out_dir: Path, splits: dict[str, pd.DataFrame], meta: dict[str, Any]) -> None:
    """The split files, meta.json and train_keys.txt, replacing `out_dir` only once all are written."""
    with atomic_path(out_dir) as tmp:
        tmp.mkdir()
        for split in SPLITS:
            splits[split].to_parquet(tmp / f"{split}.parquet", index=False)
        write_json(tmp / "meta.json", meta)
        (tmp / TRAIN_KEYS_FILE).write_text("".join(f"{k}\n" for k in split_keys(splits["train"])), encoding="utf-8")


def _split_counts(frame: pd.DataFrame, types: list[str]) -> dict[str, Any]:
    """Sentences, tokens and entities (per type) of one token-classification split."""
    spans = [span for tags in frame["tags"] for span in spans_of(tags)]
    return {
        "total": len(frame),
        "sentences": len(frame),
        "tokens": int(frame["tokens"].map(len).sum()),
        "entities": len(spans),
        "per_type": {t: sum(s.type == t for s in spans) for t in types},
    }


def _prepare_sentences(cfg: DataConfig, out_dir: Path) -> dict[str, Any]:
    """prepare_dataset for token classification."""
    raw = load_sentences(cfg)
    frame, report = clean_sentences(raw, cfg)
    if report.sentences_kept == report.extra_sentences_kept:
        raise DataError(f"{raw.source}: no sentence is left after cleaning; check data.tokens_column / data.tags_column "
                        f"and the file's format")
    listed = configured_types(cfg)
    types = listed if listed is not None else sorted({s.type for tags in frame.loc[~frame["extra"], "tags"]
                                                      for s in spans_of(tags)})
    if not types:
        raise DataError(f"{raw.source}: the data holds no entity (every tag is O after cleaning); a token "
                        f"classifier needs at least 1 entity type")
    label_map = LabelMap(tuple(tag_names(types)))
    splits = hashed_split(frame, cfg)
    meta = _meta(
        cfg, "token_classification", raw.source, label_map, frame, splits,
        columns={"tokens_column": cfg.tokens_column, "tags_column": cfg.tags_column,
                 "tag_scheme": {"setting": cfg.tag_scheme, "read_as": report.scheme}},
        rows=(report.sentences_read, report.sentences_kept, raw.fallback_lines),
        cleaning={"cleaning": report.counts},
        extra=(report.extra_sentences_read, report.extra_sentences_kept, report.feedback_conflicts),
        counts={split: _split_counts(df, types) for split, df in splits.items()},
    )
    meta["entity_types"] = types
    columns = ["text", "tokens", "tags", "tag_ids"]
    _write(out_dir, {split: df.assign(tag_ids=[label_map.encode(tags) for tags in df["tags"]])[columns]
                     for split, df in splits.items()}, meta)
    changed = ", ".join(f"{k}={v}" for k, v in report.counts.items() if v) or "none"
    log.info(
        "prepared %s (%s read as %s): read %d sentences, kept %d (%s); %d entity types; train/validation/test = %s -> %s",
        raw.source, cfg.tag_scheme, report.scheme, report.sentences_read, report.sentences_kept, changed, len(types),
        "/".join(str(meta["counts"][s]["total"]) for s in SPLITS), out_dir,
    )
    return meta
