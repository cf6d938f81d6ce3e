"""MLflow tracking: connect (failing fast when unreachable) and lineage tags for every run."""

from ._connect import check_reachable, connect, resolve_tracking_uri
from ._lineage import data_hash, git_state, lineage_tags, params_hash
from ._runs import flat_params, log_params_batch

__all__ = [
    "check_reachable",
    "connect",
    "data_hash",
    "flat_params",
    "git_state",
    "lineage_tags",
    "log_params_batch",
    "params_hash",
    "resolve_tracking_uri",
]
