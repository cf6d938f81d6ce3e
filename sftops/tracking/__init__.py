"""MLflow tracking: connect (failing fast when unreachable), lineage tags and the datasets of every run."""

from ._connect import EXPERIMENT_KIND, EXPERIMENT_KIND_TAG, check_reachable, connect, experiment_url, resolve_tracking_uri
from ._datasets import data_digest, log_splits, split_dataset
from ._lineage import data_hash, git_state, lineage_tags, params_hash
from ._runs import flat_params, log_params_batch

__all__ = [
    "EXPERIMENT_KIND",
    "EXPERIMENT_KIND_TAG",
    "check_reachable",
    "connect",
    "data_digest",
    "data_hash",
    "experiment_url",
    "flat_params",
    "git_state",
    "lineage_tags",
    "log_params_batch",
    "log_splits",
    "params_hash",
    "resolve_tracking_uri",
    "split_dataset",
]
