"""The `drift` section: live-input drift detection and the retraining triggers."""

from __future__ import annotations

import math
from typing import Literal

from pydantic import Field, NonNegativeFloat, PositiveFloat, PositiveInt, model_validator

from ._base import Section
from ._secrets import EnvStr, expand_env

DetectorName = Literal["labels", "confidence", "length", "unknown", "embedding"]
ALL_DETECTORS: tuple[DetectorName, ...] = ("labels", "confidence", "length", "unknown", "embedding")


class RetrainConfig(Section):
    """When a retrain starts (drift alarm, schedule, enough new feedback) and where it keeps its state."""

    on_drift: bool = Field(True, description="Retrain when the drift monitor alarms.")
    schedule_s: PositiveFloat | None = Field(
        None, description="Retrain when this many seconds passed since the last successful retrain; null = off."
    )
    min_feedback: PositiveInt | None = Field(
        200, description="Retrain once this many new labelled feedback texts arrived; null = off."
    )
    cooldown_s: NonNegativeFloat = Field(
        3600, description="Automatic triggers wait this long after the last retrain attempt (--force ignores it)."
    )
    feedback_file: str = Field(
        "data/feedback/feedback.csv", description="Where the merged feedback is written (listed in data.extra_sources)."
    )
    state_dir: str = Field("retrain", description="Lock file, retrain state and the last drift status live here.")
    lock_url: EnvStr | None = Field(
        None, pattern=r"^postgresql(\+\w+)?://",
        description="postgresql:// URL whose advisory lock allows one retrain across machines; null = the lock file in state_dir; "
        "${VAR} takes a value (e.g. the password) from the environment.",
    )
    lock_check_s: PositiveFloat = Field(
        5.0, description="While a retrain holds the PostgreSQL lock it checks this often that its session (and so the lock) "
        "still exists; a lost lock stops the pipeline and fails the retrain.",
    )
    command: list[str] = Field(
        default_factory=lambda: ["dvc", "repro"], min_length=1, description="The pipeline a retrain runs."
    )
    timeout_s: PositiveFloat = Field(6 * 3600, description="A retrain running longer than this is stopped and failed.")

    def expanded_lock_url(self) -> str | None:
        """`lock_url` with its `${VAR}` references filled in: only for connecting, never for logs or messages."""
        return None if self.lock_url is None else expand_env(self.lock_url, "drift.retrain.lock_url")


class DriftConfig(Section):
    """Sliding window, cadence and alarm threshold of the drift detectors, plus retraining triggers."""

    enabled: bool = True
    window: PositiveInt = Field(500, description="Most recent observations compared with the reference.")
    check_every: PositiveInt = Field(100, description="Evaluate the detectors every this many observations.")
    min_check_interval_s: NonNegativeFloat = Field(
        10.0, description="The server checks at most this often, however fast texts arrive "
        "(one check of the default window costs ~0.12 s of CPU: at 500 texts/s, check_every alone would take 0.6 of a core)."
    )
    min_samples: PositiveInt = Field(200, description="No test before the window holds this many observations.")
    p_value: float = Field(
        0.01, gt=0, lt=1,
        description="Family-wise false-alarm rate per evaluation; each detector alarms at p_value / len(detectors).",
    )
    detectors: list[DetectorName] = Field(default_factory=lambda: list(ALL_DETECTORS), min_length=1)
    psi_threshold: NonNegativeFloat = Field(
        0.1, description="The labels detector also needs PSI >= this (effect size); 0 = p-value only."
    )
    mmd_permutations: PositiveInt = Field(1000, le=100_000, description="Permutations of the MMD test.")
    mmd_reference_size: PositiveInt = Field(
        1000, description="Reference embeddings used by MMD at most (seeded subsample; cost grows as N^2)."
    )
    seed: int = 0
    retrain: RetrainConfig = RetrainConfig()

    @model_validator(mode="after")
    def _consistent(self) -> DriftConfig:
        if self.min_samples > self.window:
            raise ValueError(f"min_samples ({self.min_samples}) must not exceed window ({self.window})")
        if len(set(self.detectors)) != len(self.detectors):
            raise ValueError(f"detectors must be unique, got {self.detectors}")
        if "embedding" in self.detectors:
            # the smallest permutation p-value is 1 / (permutations + 1); it must be able to alarm
            needed = math.floor(len(self.detectors) / self.p_value + 1e-9)
            if self.mmd_permutations < needed:
                raise ValueError(
                    f"mmd_permutations={self.mmd_permutations} cannot give a p-value below the per-detector "
                    f"threshold {self.p_value}/{len(self.detectors)}; use at least {needed}"
                )
        return self

    @property
    def detector_alpha(self) -> float:
        """Bonferroni: each detector's threshold, so any-detector false alarms stay below `p_value`."""
        return self.p_value / len(self.detectors)
