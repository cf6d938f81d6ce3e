"""The project folder a stage runs in: checked once, entered as the working folder for the stage's duration.

Every relative path in params.yaml (data.source, tracking.uri `sqlite:///mlflow.db`, tune.storage, feedback
paths, registry.lock_file) and in sftops.paths means "relative to the project", as `dvc repro` runs the stages.
A stage therefore runs with the project as its working folder (`os.chdir`) and restores the caller's
folder afterwards. The working folder is process-wide: do not run two stages at once in threads of one process.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from ..exceptions import ConfigError

PARAMS_FILE = "params.yaml"


def project_root(project: str | Path, *, needs_params: bool = True) -> Path:
    """The project folder as an absolute path, after checking it exists and (if `needs_params`) holds params.yaml.

    Raises:
        ConfigError: the folder does not exist, or holds no params.yaml."""
    root = Path(project).expanduser().resolve()
    if not root.is_dir():
        raise ConfigError(f"project folder {project}: not found; pass the folder that holds params.yaml and dvc.yaml")
    if needs_params and not (root / PARAMS_FILE).is_file():
        raise ConfigError(f"project folder {project}: no {PARAMS_FILE} in it; pass the project folder "
                          "(the one holding params.yaml), or create params.yaml there")
    return root


@contextlib.contextmanager
def in_project(project: str | Path, *, needs_params: bool = True) -> Iterator[Path]:
    """Run the block with the (checked) project folder as working folder; restore the caller's after. Not thread-safe.

    Raises:
        ConfigError: as `project_root`."""
    root = project_root(project, needs_params=needs_params)
    previous = os.getcwd()  # contextlib.chdir is Python 3.11+; sftops supports 3.10
    os.chdir(root)
    try:
        yield root
    finally:
        os.chdir(previous)
