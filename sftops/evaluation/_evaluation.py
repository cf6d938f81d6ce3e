"""What scoring one task hands the evaluate stage: the results, their MLflow form, the confusion rows, the figures."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Evaluation:
    """The test-split scores of the fine-tuned model and its baselines, ready to write and log.

    `summary` is metrics/eval.json less its run id; `figures` writes the PNGs, the text report and the fine-tuned
    model's per-example predictions (predictions.jsonl, see _predictions) into the folder logged as `evaluation/`."""

    summary: dict[str, Any]
    metrics: dict[str, float]
    confusion_rows: list[dict[str, str]]
    figures: Callable[[Path], None]
    headline: str
