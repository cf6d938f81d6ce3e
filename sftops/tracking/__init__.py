"""MLflow tracking: connect (failing fast when unreachable) and lineage tags for every run."""

from ._connect import check_reachable, connect, resolve_tracking_uri
from ._lineage import data_hash, git_state, lineage_tags, params_hash

__all__ = ["check_reachable", "connect", "data_hash", "git_state", "lineage_tags", "params_hash", "resolve_tracking_uri"]
