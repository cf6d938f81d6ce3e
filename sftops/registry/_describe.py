"""The description a person reads first on a registered version's page: the decision, the scores, links to the runs.

The audit entry itself stays machine-readable in the `sftops.audit.*` tags; this is its readable summary
(MLflow renders descriptions as Markdown, and `#/runs/ID` opens a run in the same UI).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._audit import AuditEntry

_RUN_TAGS = (("register", "sftops.run_id"), ("train", "sftops.train_run_id"), ("evaluate", "sftops.eval_run_id"))


def _headline(entry: AuditEntry) -> str:
    if entry.decision == "promoted":
        return f"**Champion** since {entry.timestamp}: promoted by {entry.action} ({entry.trigger}, {entry.actor})."
    if entry.decision == "rolled_back":
        return (f"**Rolled back** at {entry.timestamp} by {entry.actor}: champion is version {entry.champion_after}"
                f" (was {entry.champion_before}).")
    return (f"**Not promoted** at {entry.timestamp} ({entry.action}, {entry.trigger}): "
            f"champion stays version {entry.champion_after}.")


def _scores(entry: AuditEntry) -> str:
    if not entry.scores or not entry.metric:
        return ""
    parts = []
    for version, score in sorted(entry.scores.items(), key=lambda item: item[0] != entry.version):
        role = "this version" if version == entry.version else f"champion (version {version})"
        variant = entry.variants.get(version)
        parts.append(f"{role} **{score:.4f}**" + (f" ({variant})" if variant else ""))
    samples = f" on {entry.test_samples} test texts" if entry.test_samples else ""
    margin = f", needed +{entry.min_improvement:g}" if entry.min_improvement else ""
    return f"Test {entry.metric}{samples}: " + " vs ".join(parts) + f"{margin}."


def version_description(entry: AuditEntry, version_tags: Mapping[str, str]) -> str:
    """Markdown for the version page: what was decided and why, the scores against the champion, links to its runs."""
    runs = " · ".join(f"[{what}](#/runs/{version_tags[tag]})" for what, tag in _RUN_TAGS if version_tags.get(tag))
    lines = [
        _headline(entry),
        _scores(entry),
        f"Reason: {entry.reason}",
        f"Runs: {runs}" if runs else "",
        f"Serve it: `mlflow models serve -m models:/{entry.model}/{entry.version} --env-manager local` "
        "(ONNX Runtime, no torch). The audit trail is in the `sftops.audit.*` tags.",
    ]
    return "\n\n".join(line for line in lines if line)
