"""Where each stage reads and writes, relative to the project folder (the same paths dvc.yaml names)."""

from __future__ import annotations

from pathlib import Path

PREPARED_DIR = Path("data/prepared")
SPLITS = ("train", "validation", "test")
META_FILE = PREPARED_DIR / "meta.json"

BEST_PARAMS_FILE = Path("models/best_params.json")
MODEL_DIR = Path("models/model")
ONNX_DIR = Path("models/onnx")
REGISTRATION_FILE = Path("models/registration.json")

METRICS_DIR = Path("metrics")
PLOTS_DIR = Path("plots")
TRAIN_METRICS_FILE = METRICS_DIR / "train.json"
EVAL_FILE = METRICS_DIR / "eval.json"
EXPORT_METRICS_FILE = METRICS_DIR / "export.json"
CURVE_FILE = PLOTS_DIR / "training_curve.csv"
CONFUSION_FILE = PLOTS_DIR / "confusion_matrix.csv"

LABEL_MAP_FILE = "label_map.json"  # inside a model folder


def split_file(split: str, root: Path = PREPARED_DIR) -> Path:
    """The parquet file of one split (columns: text, label, label_name; token classification: text, tokens, tags, tag_ids)."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    return root / f"{split}.parquet"
