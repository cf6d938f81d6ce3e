"""Run a stage: enter the project, load the params, connect to tracking once (for stages that log), report."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from ..config import Params, load_params
from ._project import PARAMS_FILE, in_project
from ._report import StageReport

R = TypeVar("R")
log = logging.getLogger(__name__)


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
    start = time.monotonic()
    with in_project(project, needs_params=params is None) as root:
        params = params if params is not None else load_params(PARAMS_FILE)
        if not logs:
            result = body(StageContext(stage, root, params))
        else:
            from ..dburl import scrub
            from ..tracking import connect

            uri = connect(params.tracking)
            result = body(StageContext(stage, root, params, scrub(uri), params.tracking.experiment))
    if isinstance(result, StageReport):
        log.info("%s", summary_line(result, time.monotonic() - start))
    return result


def summary_line(report: StageReport, seconds: float) -> str:
    """The stage's one closing line: how long it took and where its results went (files, MLflow runs)."""
    files = ", ".join(_relative(path, report.project) for path in report.outputs.values()) or "no files"
    line = f"{report.stage} done in {_duration(seconds)} -> {files}"
    if report.run_ids:
        runs = ", ".join(report.run_ids)
        line += f"; MLflow run{'s' if len(report.run_ids) > 1 else ''} {runs}"
        line += f" (experiment {report.experiment!r} at {report.tracking_uri})" if report.experiment else ""
    return line


def _relative(path: Path, project: Path) -> str:
    try:
        return str(path.relative_to(project.resolve()))
    except ValueError:
        return str(path)


def _duration(seconds: float) -> str:
    return f"{seconds:.1f} s" if seconds < 60 else f"{int(seconds // 60)} min {int(seconds % 60):02d} s"
