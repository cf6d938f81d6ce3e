"""The `source` stage: fingerprint the raw data source into data/source.json, so editing the dataset reruns prepare."""

from __future__ import annotations

from pathlib import Path

from ..config import Params
from ._report import SourceReport
from ._runner import StageContext, run_stage


def source(project: str | Path = ".", params: Params | None = None) -> SourceReport:
    """Hash data.source and every data.extra_sources file into data/source.json (changed only when the data is).

    Raises:
        ConfigError: no project folder / params.yaml, or invalid params.
        DataError: a source file or folder is missing or unreadable."""
    return run_stage("source", project, params, _source, logs=False)


def _source(ctx: StageContext) -> SourceReport:
    from ..data.fingerprint import FINGERPRINT_FILE, write_fingerprint

    fingerprint = write_fingerprint(ctx.params.data, FINGERPRINT_FILE)
    return SourceReport(**ctx.common(ctx.outputs(fingerprint=FINGERPRINT_FILE), {"files": len(fingerprint.files())}),
                        fingerprint=fingerprint.model_dump(mode="json", exclude_none=True))
