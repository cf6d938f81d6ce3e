"""The `registry` section: the registered model, the promotion gate, and the lock that serializes decisions."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, PositiveFloat, PositiveInt

from ._base import Section
from ._secrets import EnvStr, expand_env


class RegistryConfig(Section):
    """Registered model name and how a challenger must beat the champion on today's test split."""

    model_name: str = Field("sftops-sentiment", min_length=1, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    primary_metric: Literal["macro_f1", "accuracy", "entity_f1", "token_accuracy"] = Field(
        "macro_f1", description="What the promotion gate compares; when not given, the task's own: macro_f1 "
        "(classification), entity_f1 (token classification)."
    )
    min_improvement: float = Field(0.0, ge=0, le=1, description="Challenger must beat champion by at least this.")
    gate_batch_size: PositiveInt = Field(64, description="Batch size when the gate scores bundles with ONNX Runtime.")
    lock_file: str = Field(
        "models/registry.lock",
        description="Champion decisions (gate, promote, rollback) of this project take an flock on this file, one at a time.",
    )
    lock_url: EnvStr | None = Field(
        None, pattern=r"^postgresql(\+\w+)?://",
        description="postgresql:// URL whose advisory lock serializes champion decisions across machines (replaces "
        "lock_file); ${VAR} takes a value (e.g. the password) from the environment.",
    )
    lock_timeout_s: PositiveFloat = Field(300, description="Wait at most this long for another decision to finish.")
    report: bool = Field(
        True, description="Log a self-contained HTML report on each registered version (`sftops report` writes one "
        "for any version); a report that cannot be built is a warning, never a lost version."
    )

    def expanded_lock_url(self) -> str | None:
        """`lock_url` with its `${VAR}` references filled in: only for connecting, never for logs or messages."""
        return None if self.lock_url is None else expand_env(self.lock_url, "registry.lock_url")
