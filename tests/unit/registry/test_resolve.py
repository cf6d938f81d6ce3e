"""sftops.registry._resolve: model references (NAME, NAME@ALIAS, NAME/VERSION, models:/...) and bad ones."""

from __future__ import annotations

import pytest

from sftops.exceptions import RegistryError
from sftops.registry import ModelRef


@pytest.mark.parametrize(("ref", "expected"), [
    ("m", ("m", "champion", None)),
    ("m@challenger", ("m", "challenger", None)),
    ("m/3", ("m", None, "3")),
    ("models:/my.model-1@champion", ("my.model-1", "champion", None)),
    ("models:/m/12", ("m", None, "12")),
])
def test_model_references(ref: str, expected: tuple) -> None:
    parsed = ModelRef.parse(ref)
    assert (parsed.name, parsed.alias, parsed.version) == expected
    assert ModelRef.parse(str(parsed)) == ModelRef.parse(parsed.uri) == parsed


def test_a_reference_names_an_alias_or_a_version() -> None:
    assert ModelRef("m") == ModelRef("m", alias="champion")
    assert ModelRef.parse("m", default_alias="staging") == ModelRef("m", alias="staging")
    with pytest.raises(RegistryError, match="an alias or a version, not both"):
        ModelRef("m", alias="champion", version="3")


@pytest.mark.parametrize("ref", ["", "m/abc", "m@a@b", "models:/"])
def test_bad_model_references(ref: str) -> None:
    with pytest.raises(RegistryError, match="is not NAME, NAME@ALIAS"):
        ModelRef.parse(ref)
