"""The promotion gate: score challenger and champion bundles on today's test split, decide, move `champion`, audit.

Both bundles are scored as they would serve (the variant a server picks on this device) and each
score counts the test texts that model trained on. The decision runs under the registry lock, and
if another decision moved `champion` since the scoring, the new champion is scored before deciding.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from ..bundle import BundleManifest, RequestedDevice
from ..config import RegistryConfig
from ..exceptions import RegistryError
from ._audit import AuditEntry, Trigger, record
from ._bundle import fetch_bundle
from ._client import CHAMPION, version_by_alias
from ._lock import DecisionLock, decision_lock
from ._scoring import BundleScore, TestSplit, score_split, variant_agreement

if TYPE_CHECKING:
    from mlflow import MlflowClient
    from mlflow.entities.model_registry import ModelVersion

    from ..inference import Aggregation

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True)
class GateScores:
    """Both sides of the comparison, scored by the same ONNX Runtime code path (and how: serve.device, serve.variant,
    serve.aggregation)."""

    challenger: BundleScore
    champion_version: str | None
    champion: BundleScore | None
    device: RequestedDevice = "cpu"
    variant: str | None = None
    aggregation: Aggregation = "first"  # how a token classifier's words are tagged (serve.aggregation)


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


def _score_champion(
    client: MlflowClient, cfg: RegistryConfig, champion: ModelVersion, test: TestSplit, device: RequestedDevice,
    variant: str | None, aggregation: Aggregation, nothing_done: str = "Nothing was registered",
) -> BundleScore:
    with tempfile.TemporaryDirectory(prefix="sftops-champion-") as tmp:
        try:
            bundle = fetch_bundle(client, champion, Path(tmp) / "bundle")
            return score_split(bundle, test, cfg.gate_batch_size, device, variant, aggregation)
        except RegistryError as exc:
            raise RegistryError(
                f"cannot score the current champion (version {champion.version}): {exc}. "
                f"{nothing_done}; move the champion with `sftops promote {cfg.model_name} VERSION --reason ...`"
            ) from None


def check_agreement(bundle: Path, variant: str, min_agreement: float) -> None:
    """Refuse a bundle that would serve `variant` although export measured it agreeing with PyTorch less than
    `min_agreement` (export.min_agreement): a bundle exported before that key, or with a lower one.

    Refused, not skipped: a server serves the first published variant, so scoring another one would judge a model
    that does not serve. A variant without a recorded agreement (older bundles) passes."""
    agreement = variant_agreement(BundleManifest.load(bundle), variant)
    if agreement is not None and agreement < min_agreement:
        raise RegistryError(
            f"{bundle}: it would serve the {variant} variant, whose agreement with PyTorch is {agreement:.4f} "
            f"< export.min_agreement {min_agreement:g}; re-run `sftops export` (it then leaves {variant} unpublished) "
            "or choose another variant with serve.variant"
        )


def score_against_champion(
    client: MlflowClient, cfg: RegistryConfig, challenger_bundle: Path, test: TestSplit,
    device: RequestedDevice = "cpu", variant: str | None = None, aggregation: Aggregation = "first",
    min_agreement: float | None = None,
) -> GateScores:
    """Score the local challenger bundle and the current champion's registered bundle on the same test split.

    Each bundle is scored in the variant a server with serve.device=`device` (and serve.variant=`variant`)
    would serve; a token classifier's words tagged with serve.aggregation=`aggregation`. Runs before anything
    is registered, so a bundle that cannot be scored changes nothing. With `min_agreement` (export.min_agreement)
    a challenger serving a variant that agrees less with PyTorch is refused (`check_agreement`); the champion,
    which already serves, is scored as it is.
    """
    challenger = score_split(challenger_bundle, test, cfg.gate_batch_size, device, variant, aggregation)
    if min_agreement is not None:
        check_agreement(challenger_bundle, challenger.variant, min_agreement)
    champion_version = version_by_alias(client, cfg.model_name, CHAMPION)
    if champion_version is None:
        return GateScores(challenger, None, None, device, variant, aggregation)
    champion = _score_champion(client, cfg, champion_version, test, device, variant, aggregation)
    return GateScores(challenger, str(champion_version.version), champion, device, variant, aggregation)


def apply_gate(
    client: MlflowClient, cfg: RegistryConfig, version: str, scores: GateScores, test: TestSplit, trigger: Trigger,
    lock: DecisionLock | None = None,
) -> AuditEntry:
    """Record the decision in the audit trail, which moves `champion` to `version` if it won.

    Holds the registry lock (default: `decision_lock(cfg)`) from reading the champion to the audit entry.
    """
    with lock or decision_lock(cfg):
        current = version_by_alias(client, cfg.model_name, CHAMPION)
        current_v = None if current is None else str(current.version)
        if current_v != scores.champion_version:  # another decision moved it since the scoring
            log.info("champion moved from %s to %s while scoring; scoring version %s", scores.champion_version, current_v, current_v)
            champion = None if current is None else _score_champion(
                client, cfg, current, test, scores.device, scores.variant, scores.aggregation,
                nothing_done=f"Version {version} is registered but the gate decided nothing",
            )
            scores = replace(scores, champion_version=current_v, champion=champion)
        return _decide_and_record(client, cfg, version, scores, test, trigger)


def _decide_and_record(
    client: MlflowClient, cfg: RegistryConfig, version: str, scores: GateScores, test: TestSplit, trigger: Trigger
) -> AuditEntry:
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
            variants=_by_version(version, scores, lambda s: s.variant),
            devices=_by_version(version, scores, lambda s: s.device),
            test_overlap=_by_version(version, scores, lambda s: s.train_overlap),
        ),
    )


def _by_version(version: str, scores: GateScores, field: Callable[[BundleScore], T]) -> dict[str, T]:
    """{version: field(score)} for the challenger and, when there is one, the champion."""
    out = {version: field(scores.challenger)}
    if scores.champion_version is not None and scores.champion is not None:
        out[scores.champion_version] = field(scores.champion)
    return out
