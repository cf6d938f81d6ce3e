"""train.precision on CPU: fp32 for auto, bf16 autocast only when asked and the CPU has native bf16; clear errors."""

from __future__ import annotations

import math

import pytest
import torch

from sftops.exceptions import ConfigError
from sftops.training import _precision
from sftops.training._precision import cpu_bf16_speedup, cpu_has_bf16, resolve_precision
from sftops.training._trainer import training_arguments

pytestmark = pytest.mark.skipif(torch.cuda.is_available(), reason="the CPU rules; GPUs keep bf16/fp16 as before")


def _cpu_flags(monkeypatch, bf16: bool) -> None:
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: bf16)
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: False)


def test_bf16_on_a_cpu_without_native_bf16_is_a_config_error(monkeypatch):
    _cpu_flags(monkeypatch, bf16=False)
    with pytest.raises(ConfigError, match="AVX512-BF16 or AMX"):
        resolve_precision("bf16")
    with pytest.raises(ConfigError, match="fp16 needs a CUDA GPU"):
        resolve_precision("fp16")
    assert resolve_precision("fp32") == "fp32"


def test_auto_without_native_bf16_is_fp32_without_probing(monkeypatch):
    _cpu_flags(monkeypatch, bf16=False)
    monkeypatch.setattr(_precision, "cpu_bf16_speedup", lambda *a: pytest.fail("probed a CPU without bf16"))
    assert resolve_precision("auto") == "fp32"


def test_auto_is_fp32_on_a_cpu_with_native_bf16_too(monkeypatch):
    _cpu_flags(monkeypatch, bf16=True)
    monkeypatch.setattr(_precision, "cpu_bf16_speedup", lambda *a: pytest.fail("auto needs no probe"))
    assert resolve_precision("auto", hidden_size=384) == "fp32"
    monkeypatch.setenv("WORLD_SIZE", "2")
    assert resolve_precision("auto") == "fp32"  # every rank alike


@pytest.mark.parametrize(("speedup", "warned"), [(1.5, False), (0.6, True)])
def test_bf16_when_asked_warns_if_the_probe_finds_it_no_faster(monkeypatch, caplog, speedup, warned):
    _cpu_flags(monkeypatch, bf16=True)
    monkeypatch.setattr(_precision, "cpu_bf16_speedup", lambda hidden: speedup)
    with caplog.at_level("WARNING", logger="sftops.training._precision"):
        assert resolve_precision("bf16", hidden_size=384) == "bf16"
    assert ("no faster" in caplog.text) is warned


def test_the_probe_times_both_ways_once_per_width():
    cpu_bf16_speedup.cache_clear()
    speedup = cpu_bf16_speedup(32)
    assert math.isfinite(speedup) and speedup > 0
    assert cpu_bf16_speedup(32) == speedup and cpu_bf16_speedup.cache_info().hits == 1


@pytest.mark.skipif(not cpu_has_bf16(), reason="this CPU has no native bf16")
def test_bf16_reaches_the_trainer_as_cpu_autocast(make_params, tmp_path):
    args = training_arguments(make_params(train={"precision": "bf16"}), str(tmp_path), eval_steps=None,
                              keep_best=True, n_train=64)
    assert args.bf16 and not args.fp16 and args.use_cpu
