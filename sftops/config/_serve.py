"""The `serve` section: inference server settings."""

from __future__ import annotations

from pydantic import Field, PositiveInt

from ._base import Section


class ServeConfig(Section):
    """Host, port, batching and polling of the registry alias."""

    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    alias: str = "champion"
    max_batch_size: PositiveInt = 32
    max_wait_ms: float = Field(5.0, ge=0)
    max_queue: PositiveInt = 1024
    poll_interval_s: float = Field(30.0, gt=0)
