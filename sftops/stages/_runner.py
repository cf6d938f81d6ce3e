"""Run a stage: enter the project, load the params, connect to tracking once (for stages that log), report."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from ..config import Params, load_params
from ._project import PARAMS_FILE, in_project

R = TypeVar("R")


@dataclass(frozen=True)
class StageContext:
    """What a stage body gets: the project folder, its params, and the tracking store it is connected to."""

    stage: str
    project: Path
    params: Params
    tracking_uri: str | None = None  # scrubbed: no password
    experiment: str | None = None

    def outputs(self, **paths: str | Path) -> dict[str, Path]:
        """Output paths made absolute against the project folder."""
        return {name: (self.project / path).resolve() for name, path in paths.items()}

    def common(self, outputs: dict[str, Path], metrics: dict, run_ids: tuple[str | None, ...] = ()) -> dict:
        """The StageReport fields, as keyword arguments for a report class."""
        return {"stage": self.stage, "project": self.project, "outputs": outputs, "metrics": metrics,
                "run_ids": tuple(r for r in run_ids if r), "experiment": self.experiment,
                "tracking_uri": self.tracking_uri}


def run_stage(
    stage: str, project: str | Path, params: Params | None, body: Callable[[StageContext], R], *, logs: bool = True
) -> R:
    """Run `body` inside the project folder with its params (params.yaml there when None); connect first if it logs.

    Raises:
        ConfigError: no such project folder, no params.yaml, or invalid params.
        TrackingError: the tracking store is unreachable (before any work starts)."""
    with in_project(project, needs_params=params is None) as root:
        params = params if params is not None else load_params(PARAMS_FILE)
        if not logs:
            return body(StageContext(stage, root, params))
        from ..dburl import scrub
        from ..tracking import connect

        uri = connect(params.tracking)
        return body(StageContext(stage, root, params, scrub(uri), params.tracking.experiment))
