"""params-ner.yaml, the NER profile: it parses, and it shows every knob params.yaml shows."""

from __future__ import annotations

import fnmatch

import yaml

from sftops.config import load_params
from sftops.testing.project import PROJECT_ROOT

# left out on purpose: they default to the task's own metric (entity F1), which the file says in a comment
TASK_DEFAULTED = {("tune", "metric"), ("registry", "primary_metric")}


def _raw(name: str) -> dict:
    return yaml.safe_load((PROJECT_ROOT / name).read_text(encoding="utf-8"))


def test_ner_profile_parses_as_token_classification_on_the_builtin_ner_tweets() -> None:
    params = load_params(PROJECT_ROOT / "params-ner.yaml")
    assert params.task == "token_classification"
    assert params.data.source == "builtin:ner-tweets"
    assert params.registry.model_name == "sftops-ner"
    assert (params.registry.primary_metric, params.tune.metric) == ("entity_f1", "eval_entity_f1")
    # the retrain's merged feedback file is one of the extra sources prepare reads
    feedback = params.drift.retrain.feedback_file
    assert any(fnmatch.fnmatch(feedback, pattern) for pattern in params.data.extra_sources), feedback
    assert (params.data.tokens_column, params.data.tags_column) == ("tokens", "tags")


def test_ner_profile_names_every_key_params_yaml_names() -> None:
    default, ner = _raw("params.yaml"), _raw("params-ner.yaml")
    assert set(default) <= set(ner), set(default) - set(ner)
    missing = [
        f"{section}.{key}"
        for section, values in default.items() if isinstance(values, dict)
        for key in values
        if (section, key) not in TASK_DEFAULTED and key not in ner[section]
    ]
    assert missing == []
    assert not TASK_DEFAULTED & {(s, k) for s, v in ner.items() if isinstance(v, dict) for k in v}
