"""sftops.config._export: bad export params fail naming the key."""

from __future__ import annotations

import pytest

from sftops.config import parse_params
from sftops.exceptions import ConfigError


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"variants": ["int8", "int4"]}, r"export\.variants\.1: Input should be 'optimized', 'int8' or 'fp16'"),
        ({"variants": ["int8", "int8"]}, r"export\.variants: each variant may appear once"),
        ({"parity_atol": 0}, r"export\.parity_atol: Input should be greater than 0"),
        ({"min_argmax_agreement": 1.5}, r"export\.min_argmax_agreement: Input should be less than or equal to 1"),
        ({"parity_sample": 10}, r"export\.parity_sample: unknown key"),
    ],
)
def test_bad_export_params(section: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_params({"export": section})


def test_defaults_match_params_yaml() -> None:
    from pathlib import Path

    from sftops.config import load_params

    params = load_params(Path(__file__).resolve().parents[3] / "params.yaml")
    assert params.export.variants == ["optimized", "int8", "fp16"] and params.export.eval_samples is None
