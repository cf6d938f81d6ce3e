"""params-ner.yaml, the NER profile: it parses, and it shows every knob params.yaml shows."""

from __future__ import annotations

import fnmatch

import yaml

from sftops.config import load_params
from sftops.testing.project import PROJECT_ROOT


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
    missing = [f"{section}.{key}" for section, values in default.items() if isinstance(values, dict)
               for key in values if key not in ner[section]]
    assert missing == []


def test_ner_profile_names_every_param_dvc_yaml_tracks() -> None:
    """DVC stops a stage whose params key is missing from params.yaml, even when sftops has a default for it."""
    ner = _raw("params-ner.yaml")

    def named(key: str) -> bool:
        node = ner
        for part in key.split("."):
            if not isinstance(node, dict) or part not in node:
                return False
            node = node[part]
        return True

    stages = _raw("dvc.yaml")["stages"]
    missing = [f"{stage}: {key}" for stage, spec in stages.items() for key in spec.get("params", [])
               if isinstance(key, str) and not named(key)]
    assert missing == []
