"""Build a version's HTML report from MLflow, write it to a file, or log it on the version's run."""

from __future__ import annotations

import logging
import tempfile
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from ..atomic import atomic_path
from ..exceptions import RegistryError
from ..registry import ModelRef
from ._evidence import Evidence, collect_evidence
from ._sections import SECTIONS
from ._template import PAGE

if TYPE_CHECKING:
    from mlflow import MlflowClient

log = logging.getLogger(__name__)

REPORT_ARTIFACT = "report/report.html"  # on the version's run, beside the model and serving/
REPORT_TAG = "sftops.report"


def render_report(evidence: Evidence) -> str:
    """The report page of `evidence` (every section; a missing piece shows as a note)."""
    import jinja2  # a dependency of mlflow (through Flask)

    template = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined).from_string(PAGE)
    version = evidence.version
    return template.render(
        name=version.name, version=version.version, task=evidence.task, run_id=version.run_id,
        evaluate_run_id=evidence.evaluate_run_id, data_hash=version.data_hash,
        aliases=", ".join(sorted(evidence.aliases)),
        generated=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        sections=[build(evidence) for build in SECTIONS],
    )


def build_report(client: MlflowClient, ref: ModelRef | str) -> tuple[Evidence, str]:
    """Gather what MLflow holds about `ref` (NAME@ALIAS or NAME/VERSION) and render its report.

    Raises:
        RegistryUnreachable: the tracking server did not answer.
        RegistryError: no such model, version or alias."""
    evidence = collect_evidence(client, ref)
    return evidence, render_report(evidence)


def write_report(client: MlflowClient, ref: ModelRef | str, path: Path | None = None) -> tuple[Evidence, Path]:
    """Write the report of `ref` to `path` (default: report-NAME-vVERSION.html), atomically; return what it showed."""
    evidence, html = build_report(client, ref)
    path = path or Path(f"report-{evidence.version.name}-v{evidence.version.version}.html")
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        tmp.write_text(html, encoding="utf-8")
    return evidence, path


def log_version_report(client: MlflowClient, name: str, version: str) -> str:
    """Build the report of `name` version `version` and log it on the version's run (REPORT_ARTIFACT).

    Tags the version with `sftops.report` = the artifact path, so a person finds it from the version's page.
    Returns the artifact URI. Called by the register step once the gate has decided (the report shows the decision)."""
    evidence, html = build_report(client, ModelRef(name, version=str(version)))
    run_id = evidence.version.run_id
    if not run_id:
        raise RegistryError(f"{name} version {version} names no MLflow run to log its report on")
    folder, file = REPORT_ARTIFACT.rsplit("/", 1)
    with tempfile.TemporaryDirectory(prefix="sftops-report-") as tmp:
        path = Path(tmp) / file
        path.write_text(html, encoding="utf-8")
        client.log_artifact(run_id, str(path), folder)
    client.set_model_version_tag(name, str(version), REPORT_TAG, REPORT_ARTIFACT)
    uri = f"runs:/{run_id}/{REPORT_ARTIFACT}"
    log.info("report of %s version %s -> %s", name, version, uri)
    return uri
