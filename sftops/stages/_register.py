"""The `register` stage: log and register the model, run the promotion gate, write models/registration.json."""

from __future__ import annotations

import logging
from pathlib import Path

from ..config import Params
from ..paths import REGISTRATION_FILE
from ._report import RegisterReport
from ._runner import StageContext, run_stage

log = logging.getLogger(__name__)


def register(project: str | Path = ".", params: Params | None = None) -> RegisterReport:
    """Register models/model + models/onnx as a new version; the gate moves `champion` only if it wins.

    Raises:
        ConfigError: no project folder / params.yaml, or invalid params.
        RegistryError: an input is missing (run the earlier stages), $SFTOPS_TRIGGER is unknown, or the registry
            refuses.
        TrackingError: the tracking store is unreachable (checked before any work)."""
    return run_stage("register", project, params, _register)


def _register(ctx: StageContext) -> RegisterReport:
    from ..atomic import write_json
    from ..registry import register_model

    registration = register_model(ctx.params, project_dir=ctx.project)
    write_json(REGISTRATION_FILE, registration.model_dump(mode="json"))
    if ctx.params.registry.report:
        _log_report(registration.name, registration.version)
    metrics = {f"gate.{version}.{registration.metric}": score for version, score in registration.scores.items()}
    return RegisterReport(
        **ctx.common(ctx.outputs(registration=REGISTRATION_FILE), metrics, (registration.run_id,)),
        name=registration.name, version=registration.version, decision=registration.decision,
        reason=registration.reason, champion=registration.champion,
    )


def _log_report(name: str, version: str) -> None:
    """Attach the version's HTML report once the gate has decided (the report shows the decision)."""
    from ..registry import registry_client
    from ..reporting import log_version_report

    try:
        log_version_report(registry_client(), name, version)
    except Exception as exc:  # the version is registered and decided; its report is a convenience
        log.warning("could not build the report of %s version %s (%s: %s); `sftops report %s/%s` retries it",
                    name, version, type(exc).__name__, exc, name, version)
