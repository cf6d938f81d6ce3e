"""What a stage returns: where it wrote, what it measured, and which MLflow runs it logged to."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

Metric = float | int | str | bool | None


@dataclass(frozen=True)
class StageReport:
    """The common part of every stage's report.

    `outputs` maps an output's name to its absolute path; `metrics` is flat; `run_ids` are the MLflow runs the
    stage logged (empty for stages that do not log); `tracking_uri` has any password scrubbed."""

    stage: str
    project: Path
    outputs: Mapping[str, Path]
    metrics: Mapping[str, Metric] = field(default_factory=dict)
    run_ids: tuple[str, ...] = ()
    experiment: str | None = None
    tracking_uri: str | None = None

    @property
    def run_id(self) -> str | None:
        """The stage's main MLflow run (the first one logged), if any."""
        return self.run_ids[0] if self.run_ids else None


@dataclass(frozen=True)
class SourceReport(StageReport):
    """`source`: the fingerprint of the raw data source (data/source.json)."""

    fingerprint: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class PrepareReport(StageReport):
    """`prepare`: the prepared splits and their meta.json contents (counts per split and label, fingerprint)."""

    meta: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class TuneReport(StageReport):
    """`tune`: the best trial's params (dotted keys) and score; empty when tuning is off."""

    best_params: Mapping[str, Any] = field(default_factory=dict)
    best_value: float | None = None
    study_name: str = ""


@dataclass(frozen=True)
class TrainReport(StageReport):
    """`train`: the saved model folder, the train metrics (best validation macro-F1 (entity F1 for token classification), steps, speed)."""


@dataclass(frozen=True)
class EvaluateReport(StageReport):
    """`evaluate`: test-split metrics of the fine-tuned model and both baselines (`<model>.<metric>` keys)."""

    results: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ExportStageReport(StageReport):
    """`export`: the serving bundle, its parity and per-variant metrics, and which variants were published."""

    published: tuple[str, ...] = ()


@dataclass(frozen=True)
class RegisterReport(StageReport):
    """`register`: the registered model name and version, and what the promotion gate decided."""

    name: str = ""
    version: str = ""
    decision: str = ""
    reason: str = ""
    champion: str | None = None
