"""sftops.registry._gate.check_agreement: a bundle that would serve a variant agreeing too little with PyTorch."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from sftops.bundle import BundleManifest, VariantInfo
from sftops.exceptions import RegistryError
from sftops.registry._gate import check_agreement
from sftops.testing.onnx_fakes import make_mean_id_bundle


def _bundle(folder: Path, agreement: float | None) -> Path:
    """The fixed-weight bundle plus an 'int8' copy of its model that export measured at `agreement`."""
    make_mean_id_bundle(folder)
    shutil.copy(folder / "model.onnx", folder / "model.int8.onnx")
    manifest = BundleManifest.load(folder)
    variants = {**manifest.variants, "int8": VariantInfo(file="model.int8.onnx", device="cpu", argmax_agreement=agreement)}
    manifest.model_copy(update={"variants": variants}).save(folder)
    return folder


def test_a_bundle_serving_a_low_agreement_variant_is_refused(tmp_path: Path) -> None:
    folder = _bundle(tmp_path / "b", 0.978)
    served = BundleManifest.load(folder).serving_variants("cpu")[0]
    assert served == "int8"  # what a CPU server would serve, and so what the gate scores
    with pytest.raises(RegistryError, match=r"int8 variant, whose agreement with PyTorch is 0\.9780 < export\.min_agreement 0\.995"):
        check_agreement(folder, served, 0.995)
    check_agreement(folder, served, 0.97)  # passes a lower threshold
    check_agreement(folder, "fp32", 0.995)  # fp32 records none: passes


def test_a_bundle_without_recorded_agreement_passes(tmp_path: Path) -> None:
    check_agreement(_bundle(tmp_path / "old", None), "int8", 0.995)
