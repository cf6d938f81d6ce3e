"""The promotion gate: score challenger and champion bundles on today's test split, decide, move `champion`, audit."""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..config import RegistryConfig
from ..exceptions import RegistryError
from ._audit import AuditEntry, Trigger, record
from ._bundle import fetch_bundle
from ._client import CHAMPION, version_by_alias
from ._scoring import BundleScore, score_bundle

if TYPE_CHECKING:
    from mlflow import MlflowClient


@dataclass(frozen=True)
class TestSplit:
    """Today's labelled test texts and the DVC hash of the data they came from."""

    texts: Sequence[str]
    labels: Sequence[str]
    data_hash: str | None = None


@dataclass(frozen=True)
class GateScores:
    """Both sides of the comparison, scored by the same ONNX Runtime code path."""

    challenger: BundleScore
    champion_version: str | None
    champion: BundleScore | None


def decide(challenger: float, champion: float | None, min_improvement: float) -> tuple[bool, str]:
    """Promote when there is no champion, or the challenger beats it strictly and by at least `min_improvement`."""
    if champion is None:
        return True, "no champion yet"
    delta = challenger - champion
    if delta > 0 and delta >= min_improvement - 1e-12:
        return True, f"challenger {challenger:.4f} beats champion {champion:.4f} by {delta:+.4f} (>= {min_improvement})"
    if delta <= 0:
        return False, f"challenger {challenger:.4f} does not beat champion {champion:.4f} ({delta:+.4f})"
    return False, f"challenger {challenger:.4f} beats champion {champion:.4f} by only {delta:+.4f} (< {min_improvement})"


def score_against_champion(
    client: "MlflowClient", cfg: RegistryConfig, challenger_bundle: Path, test: TestSplit
) -> GateScores:
    """Score the local challenger bundle and the current champion's registered bundle on the same test split.

    Runs before anything is registered, so a bundle that cannot be scored changes nothing.
    """
    challenger = score_bundle(challenger_bundle, test.texts, test.labels, cfg.gate_batch_size)
    champion_version = version_by_alias(client, cfg.model_name, CHAMPION)
    if champion_version is None:
        return GateScores(challenger, None, None)
    with tempfile.TemporaryDirectory(prefix="sftops-champion-") as tmp:
        try:
            bundle = fetch_bundle(client, champion_version, Path(tmp) / "bundle")
            champion = score_bundle(bundle, test.texts, test.labels, cfg.gate_batch_size)
        except RegistryError as exc:
            raise RegistryError(
                f"cannot score the current champion (version {champion_version.version}): {exc}. "
                f"Nothing was registered; move the champion with `sftops promote {cfg.model_name} VERSION --reason ...`"
            ) from None
    return GateScores(challenger, str(champion_version.version), champion)


def apply_gate(
    client: "MlflowClient", cfg: RegistryConfig, version: str, scores: GateScores, test: TestSplit, trigger: Trigger
) -> AuditEntry:
    """Record the decision in the audit trail, which moves `champion` to `version` if it won."""
    metric = cfg.primary_metric
    champion_score = scores.champion.metric(metric) if scores.champion else None
    promote, reason = decide(scores.challenger.metric(metric), champion_score, cfg.min_improvement)
    compared = {version: scores.challenger.metric(metric)}
    if scores.champion_version is not None and champion_score is not None:
        compared[scores.champion_version] = champion_score
    return record(
        client,
        AuditEntry(
            action="gate",
            trigger=trigger,
            model=cfg.model_name,
            version=version,
            decision="promoted" if promote else "rejected",
            reason=reason,
            champion_before=scores.champion_version,
            champion_after=version if promote else scores.champion_version,
            metric=metric,
            min_improvement=cfg.min_improvement,
            scores=compared,
            test_data_hash=test.data_hash,
            test_samples=scores.challenger.n,
        ),
    )
