"""The `serve` section: inference server settings (env `SFTOPS_SERVE_<KEY>` overrides at serve time)."""

from __future__ import annotations

import os
from typing import Literal

from pydantic import Field, PositiveFloat, PositiveInt

from ._base import Section
from ._secrets import EnvStr, expand_env


def _cores() -> int:
    """Cores this process may run on (its affinity mask, e.g. under taskset), not all the machine has."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


class ServeConfig(Section):
    """Which model to serve, batching, back-pressure, input limits, registry polling and admin access."""

    model: str | None = Field(
        None, description="NAME[@ALIAS|/VERSION] or models:/... in the MLflow registry, or a bundle folder; "
                          "null = registry.model_name@alias"
    )
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    alias: str = Field("champion", min_length=1, description="Alias followed when `model` names none.")
    device: Literal["auto", "cpu", "cuda"] = Field("auto", description="auto = CUDA when a GPU works, else CPU")
    variant: str | None = Field(None, description="Force a bundle variant (fp32, optimized, int8, fp16); null = best published")
    workers: int = Field(
        0, ge=0, description="Batch worker threads, each running one batch at a time; 0 = 2 (1 on a single core)"
    )
    intra_op_threads: int = Field(0, ge=0, description="ONNX Runtime threads per batch; 0 = cores / workers")
    aggregation: Literal["first", "average", "max"] = Field(
        "first", description="Token classification: a word's tag from its first sub-token, or from its sub-tokens' "
        "probabilities averaged, or from the sub-token with the highest probability."
    )
    max_batch_size: PositiveInt = 32
    max_wait_ms: float = Field(
        0.0, ge=0, description="How long a batch waits to fill before it runs; 0 = take what is queued "
        "(under load batches still fill while the workers are busy)."
    )
    max_queue: PositiveInt = Field(1024, description="Texts waiting at most; beyond it requests get 503 + Retry-After.")
    request_timeout_s: PositiveFloat = 30.0
    max_texts: PositiveInt = Field(64, description="Texts in one request at most.")
    max_body_bytes: PositiveInt = Field(1_000_000, description="Request bodies above this get 413.")
    on_too_long: Literal["truncate", "reject"] = Field(
        "truncate", description="A text over the model's max_length is truncated, or rejected with 413."
    )
    poll_interval_s: PositiveFloat = Field(30.0, description="How often the registry alias is checked for a new version.")
    registry_timeout_s: PositiveFloat = Field(10.0, description="Seconds one registry call may take.")
    cache_dir: str | None = Field(None, description="Local model cache; null = ~/.cache/sftops/serving")
    feedback_db: EnvStr = Field(
        "feedback/feedback.db",
        description="Where POST /v1/feedback stores labels: a SQLite file, or a postgresql:// URL shared by replicas; "
        "${VAR} takes a value (e.g. the password) from the environment.",
    )
    feedback_retention_days: PositiveFloat | None = Field(
        None, description="Feedback older than this many days is deleted from the store and left out of retraining; null = kept"
    )
    admin_token: str | None = Field(
        None, description="Bearer token for /v1/admin/*; prefer env SFTOPS_SERVE_ADMIN_TOKEN; null = admin disabled"
    )
    feedback_token: str | None = Field(
        None, description="Bearer token for POST /v1/feedback (the admin token works too); prefer env "
        "SFTOPS_SERVE_FEEDBACK_TOKEN; null and no admin token = feedback disabled"
    )
    load_retry_max_s: PositiveFloat = Field(
        900.0, description="A version that failed to load or warm up is retried after poll_interval_s, doubling "
        "up to this many seconds; a newer version is tried at once."
    )
    drain_timeout_s: PositiveFloat = Field(30.0, description="On shutdown, wait this long for queued requests.")

    def expanded_feedback_db(self) -> str:
        """`feedback_db` with its `${VAR}` references filled in: only for connecting, never for logs or messages."""
        return expand_env(self.feedback_db, "serve.feedback_db")

    def worker_count(self) -> int:
        """Batch workers to start: `workers`, or 2 where there are at least two cores.

        Two workers keep the cores busy: one batch computes while the next one's requests
        arrive and the last one's answers go out (bench/serve_load.py measures it).
        """
        return self.workers or min(2, _cores())

    def session_threads(self) -> int:
        """ONNX Runtime intra-op threads per batch: `intra_op_threads`, or the cores shared among the workers."""
        return self.intra_op_threads or max(1, _cores() // self.worker_count())
