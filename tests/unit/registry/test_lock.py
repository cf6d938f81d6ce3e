"""The registry decision lock (flock by default), its params, and the variant choice the gate shares with the server."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from sftops.bundle import BundleManifest, VariantInfo, serving_device
from sftops.config import RegistryConfig, parse_params
from sftops.exceptions import ConfigError, RegistryError
from sftops.registry._lock import DecisionLock, decision_lock, lock_key
from sftops.retraining._pglock import LOCK_KEY

_HOLD = """
import sys, time
from sftops.registry._lock import DecisionLock
with DecisionLock(sys.argv[1], "m"):
    print("held", flush=True)
    time.sleep(float(sys.argv[2]))
"""


def test_a_second_decision_waits_for_the_first_and_gives_up_after_the_timeout(tmp_path: Path) -> None:
    path = tmp_path / "models" / "registry.lock"
    holder = subprocess.Popen([sys.executable, "-c", _HOLD, str(path), "3"], stdout=subprocess.PIPE, text=True)
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    with (
        pytest.raises(RegistryError, match=r"held the registry lock .*registry\.lock\) for more than 0\.3 s"),
        DecisionLock(path, "m", timeout_s=0.3),
    ):
        pass
    start = time.monotonic()
    with DecisionLock(path, "m", timeout_s=60):  # waits for the holder (3 s) instead of failing
        waited = time.monotonic() - start
    assert waited > 1.5
    holder.wait(timeout=10)


def test_the_lock_is_reentrant_within_one_holder(tmp_path: Path) -> None:
    lock = DecisionLock(tmp_path / "l", "m", timeout_s=0.2)
    # a decision calling a helper that locks too re-enters; another holder still waits
    with lock, lock, pytest.raises(RegistryError), DecisionLock(tmp_path / "l", "m", timeout_s=0.2):
        pass
    with DecisionLock(tmp_path / "l", "m", timeout_s=0.2):
        pass


def test_decision_lock_follows_the_params(tmp_path: Path) -> None:
    lock = decision_lock(RegistryConfig(), tmp_path)
    assert lock.target == tmp_path / "models" / "registry.lock" and lock.timeout_s == 300
    cfg = RegistryConfig(lock_url="postgresql://sftops:s3cret@db:5432/locks", lock_timeout_s=5, model_name="x")
    lock = decision_lock(cfg, tmp_path)
    assert lock.target == cfg.lock_url and "s3cret" not in lock.shown and lock.timeout_s == 5
    assert lock_key("x") != lock_key("y") and LOCK_KEY not in (lock_key("x"), lock_key("sftops-sentiment"))
    assert -(2**63) <= lock_key("x") < 2**63


def test_lock_url_must_be_postgres() -> None:
    with pytest.raises(ConfigError, match=r"registry\.lock_url"):
        parse_params({"registry": {"lock_url": "sqlite:///x.db"}})
    with pytest.raises(ConfigError, match=r"registry\.lock_timeout_s"):
        parse_params({"registry": {"lock_timeout_s": 0}})


def test_the_variant_a_server_serves_is_one_function() -> None:
    variants = {
        "fp32": VariantInfo(file="model.onnx", device="any"),
        "int8": VariantInfo(file="model.int8.onnx", device="cpu"),
        "optimized": VariantInfo(file="model.optimized.onnx", device="cpu", published=False),
        "fp16": VariantInfo(file="model.fp16.onnx", device="cuda"),
    }
    manifest = BundleManifest(max_length=8, inputs=["input_ids"], labels=["a", "b"], variants=variants)
    assert manifest.serving_variants("cpu") == ["int8", "fp32"]
    assert manifest.serving_variants("cuda") == ["fp16", "fp32"]
    assert manifest.serving_variants("cpu", "fp32") == ["fp32"]
    assert serving_device("cpu") == "cpu" and serving_device("cuda") == "cuda"
