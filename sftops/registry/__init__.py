"""The MLflow Model Registry side of sftops: register, promotion gate, audit trail, promote/rollback, resolve,
and the lock that lets one champion decision run at a time.

The one parser and resolver of model references (`ModelRef`, `resolve_model`) lives here. Importing
this package pulls in neither torch nor transformers (the server uses `resolve_model` and
`download_bundle`); only `register_model` loads them, lazily.
"""

from ._audit import AuditEntry, audit_history, champion_stack, current_actor
from ._bundle import check_bundle, fetch_bundle
from ._client import CHALLENGER, CHAMPION, RegistryUnreachable, registry_client
from ._gate import GateScores, apply_gate, decide, score_against_champion
from ._lock import DecisionLock, decision_lock
from ._manual import promote, rollback
from ._register import Registration, register_model
from ._resolve import ModelRef, ResolvedModel, download_bundle, resolve_model
from ._scoring import BundleScore, TestSplit, predict_bundle, score_bundle, score_split, score_tagger_bundle

__all__ = [
    "CHALLENGER",
    "CHAMPION",
    "AuditEntry",
    "BundleScore",
    "DecisionLock",
    "GateScores",
    "ModelRef",
    "Registration",
    "RegistryUnreachable",
    "ResolvedModel",
    "TestSplit",
    "apply_gate",
    "audit_history",
    "champion_stack",
    "check_bundle",
    "current_actor",
    "decide",
    "decision_lock",
    "download_bundle",
    "fetch_bundle",
    "predict_bundle",
    "promote",
    "register_model",
    "registry_client",
    "resolve_model",
    "rollback",
    "score_against_champion",
    "score_bundle",
    "score_split",
    "score_tagger_bundle",
]
