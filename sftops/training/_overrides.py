"""Apply dotted-key overrides (a trial's sample, the tuned best params) to the typed params."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..config import Params, parse_params


def apply_overrides(params: Params, overrides: Mapping[str, Any], source: str = "overrides") -> Params:
    """A new `Params` with each `section.key[.sub]` in `overrides` set, validated like params.yaml."""
    raw = params.model_dump(mode="json")
    for key, value in overrides.items():
        node = raw
        *parents, leaf = key.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    if raw["model"]["strategy"] != "freeze":
        raw["model"]["freeze_layers"] = 0  # frozen layers only mean something with the freeze strategy
    return parse_params(raw, source=source)
