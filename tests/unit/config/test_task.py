"""The task switch: classification by default, token classification with its own metric defaults and checks."""

from __future__ import annotations

import pytest

from sftops.config import SplitSources, parse_params
from sftops.exceptions import ConfigError


def test_existing_params_stay_classification() -> None:
    params = parse_params({})
    assert params.task == "classification"
    assert params.registry.primary_metric == "macro_f1" and params.tune.metric == "eval_macro_f1"


def test_token_classification_defaults_to_entity_f1() -> None:
    params = parse_params({"task": "token_classification", "registry": {"model_name": "ner"}})
    assert params.registry.primary_metric == "entity_f1"
    assert params.registry.model_name == "ner"
    assert params.tune.metric == "eval_entity_f1"


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"task": "token_classification", "registry": {"primary_metric": "macro_f1"}}, "not a token_classification metric"),
        ({"registry": {"primary_metric": "entity_f1"}}, "not a classification metric"),
        ({"tune": {"metric": "eval_entity_f1"}}, "tune.metric"),
        ({"task": "ner"}, "task"),
    ],
)
def test_a_metric_of_the_other_task_is_refused(raw: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_params(raw)


def test_per_split_sources_and_split_column() -> None:
    params = parse_params({"data": {"source": {"train": "a.conll", "test": "c.conll"}}})
    assert params.data.source == SplitSources(train="a.conll", test="c.conll")
    assert params.data.sources() == ["a.conll", "c.conll"]
    with pytest.raises(ConfigError, match="not both"):
        parse_params({"data": {"source": {"train": "a.csv"}, "split_column": "split"}})
    with pytest.raises(ConfigError, match="listed for both"):
        parse_params({"data": {"split_column": "s", "split_values": {"train": ["dev"], "validation": ["dev"]}}})
    assert parse_params({"data": {"split_column": "s"}}).data.split_values["validation"] == ["validation", "valid", "val", "dev"]
