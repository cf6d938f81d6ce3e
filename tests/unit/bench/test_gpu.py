"""bench/gpu.sh: its CPU dry run goes through every step and prints the summary the GPU run will print."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys

import pytest

from sftops.testing.project import PROJECT_ROOT

ROOT = PROJECT_ROOT


def _gpu_bench():
    spec = importlib.util.spec_from_file_location("gpu_bench", ROOT / "bench" / "gpu_bench.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["gpu_bench"] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def dry_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, dict]:
    """One dry run of the shell script, as a user runs it: (JSON printed on stdout, JSON written to $OUT/gpu.json)."""
    out = tmp_path_factory.mktemp("gpu-out")
    env = {**os.environ, "OUT": str(out), "PYTHON": sys.executable}
    proc = subprocess.run(["bash", str(ROOT / "bench" / "gpu.sh"), "--dry-run"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout), json.loads((out / "gpu.json").read_text())


def test_dry_run_covers_every_step_with_sane_figures(dry_run: tuple[dict, dict]) -> None:
    printed, written = dry_run
    assert printed.keys() == written.keys()
    assert {"environment", "matmul_peak", "training", "torch_cuda_inference", "onnx_export", "ort_cpu_inference",
            "ort_cuda_inference", "serve_sweep", "spec_peaks_tflops", "wall_s"} <= printed.keys()
    assert not [k for k, v in printed.items() if isinstance(v, dict) and "error" in v]
    env = printed["environment"]
    assert env["dry_run"] is True and env["device"] == "cpu"
    # the dry run hides what the device image lacks: passing proves the GPU run needs none of it
    assert {"pydantic", "mlflow", "optuna", "ftfy", "sftops.config"} <= set(env["hidden_imports"])
    assert env["assets"]["max_length"] == 128  # params-full.yaml's model.max_length
    assert env["assets"]["model"]["stored_dtype"] == "float16"

    training = printed["training"]
    # tiny BERT (hidden 32, 2 layers, FFN 64, 3 labels): 2 x non-embedding params, counted by hand
    per_layer = 4 * (32 * 32 + 32) + 2 * 64 + (32 * 64 + 64) + (64 * 32 + 32)
    assert training["flops_per_token_forward"] == 2 * (2 * per_layer + (32 * 32 + 32) + (32 * 3 + 3) + 64)
    for batch in ("batch_32", "batch_256"):
        runs = training[batch]
        assert runs["tf32"] == {"skipped": "no CUDA device"}
        for precision in ("fp32", "bf16"):
            run = runs[precision]
            assert run["batch_size"] == int(batch.split("_")[1])
            assert run["samples_per_s"] > 0 and run["model_tflops"] > 0
            assert 0 <= run["padding_fraction"] < 1
            assert run["loss_finite"] and 0.5 < run["loss_first"] < 2.0  # ~ln 3 for a fresh 3-way head
            assert run["mfu_vs_bf16_spec"] is None  # no datasheet peak for a CPU
            assert run["mfu_vs_measured_bf16_matmul"] > 0
        assert runs["fp32"]["speedup_vs_fp32"] == 1.0
        assert runs["bf16"]["speedup_vs_fp32"] == pytest.approx(runs["bf16"]["samples_per_s"] / runs["fp32"]["samples_per_s"])

    torch_inference = printed["torch_cuda_inference"]
    assert torch_inference["skipped"] == "no CUDA device"
    for batch in ("batch_32", "batch_128"):  # the CUDA step's code, run on CPU so the dry run exercises it
        runs = torch_inference["dry_run_on_cpu"][batch]
        assert set(runs) == {"fp32", "bf16", "fp16"} and all(r["texts_per_s"] > 0 for r in runs.values())
        assert runs["fp32"]["argmax_agreement_vs_fp32"] == 1.0 and 0 <= runs["fp16"]["argmax_agreement_vs_fp32"] <= 1
    cuda_ep = printed["ort_cuda_inference"]
    assert "skipped" in cuda_ep and ("CUDAExecutionProvider" in cuda_ep["skipped"] or cuda_ep["skipped"] == "no CUDA device")
    assert printed["onnx_export"] == {"fp32": "model.onnx", "int8": "model.int8.onnx"}
    ort_cpu = printed["ort_cpu_inference"]
    for batch in ("batch_32", "batch_128"):
        assert ort_cpu[batch]["fp32"]["texts_per_s"] > 0 and ort_cpu[batch]["int8"]["texts_per_s"] > 0
        assert not any(k.startswith("torch_cuda_") for k in ort_cpu[batch]["fp32"])  # no CUDA figure to compare with

    sweep = printed["serve_sweep"]
    cores = sweep["cores"]
    assert sweep["batch_size"] == 32  # params-full.yaml's serve.max_batch_size
    for variant in ("fp32", "int8"):
        rows = sweep[variant]["rows"]
        pairs = {(r["workers"], r["intra_op_threads"]) for r in rows}
        assert pairs == set(_gpu_bench().sweep_pairs(cores))
        assert all(w * t <= cores for w, t in pairs) and all(r["texts_per_s"] > 0 for r in rows)
        assert sweep[variant]["best"]["texts_per_s"] == max(r["texts_per_s"] for r in rows)
        assert 0 < sweep[variant]["auto_vs_best"] <= 1.0


def test_sweep_grid_on_sixteen_cores() -> None:
    pairs = _gpu_bench().sweep_pairs(16)
    assert pairs == [(1, 1), (1, 2), (1, 4), (1, 8), (1, 16), (2, 1), (2, 2), (2, 4), (2, 8),
                     (4, 1), (4, 2), (4, 4), (8, 1), (8, 2), (16, 1)]


@pytest.mark.parametrize("n_cores", [1, 2, 3, 16, 64])
def test_auto_rule_is_the_servers(monkeypatch: pytest.MonkeyPatch, n_cores: int) -> None:
    """The sweep reports where today's `workers: 0, intra_op_threads: 0` lands: it must be the server's own rule."""
    from sftops.config import _serve
    from sftops.config._serve import ServeConfig

    monkeypatch.setattr(_serve, "_cores", lambda: n_cores)
    serve = ServeConfig()
    assert _gpu_bench().auto_rule(n_cores) == (serve.worker_count(), serve.session_threads())


def test_forward_flops_counts_padding_and_attention() -> None:
    fm = {"non_embedding_params": 1000, "layers": 2, "hidden": 8}
    # 3 rows padded to 5 tokens: 2 x 1000 x 5 per row, plus 4 x 2 layers x 5 x 5 x 8
    assert _gpu_bench().forward_flops(fm, [5, 2, 3]) == 3 * (2 * 1000 * 5 + 4 * 2 * 5 * 5 * 8)


def test_length_grouped_batches_are_full_distinct_and_tight() -> None:
    gb = _gpu_bench()
    lengths = [(i * 37) % 101 + 1 for i in range(1000)]
    batches = gb.length_grouped(lengths, 32, seed=1)
    assert len(batches) == 31 and all(len(b) == 32 for b in batches)  # the last 8 rows make no full batch
    flat = [i for b in batches for i in b]
    assert len(flat) == len(set(flat))
    # sorted within megabatches: far less padding than random batches of the same rows
    pad = sum(max(lengths[i] for i in b) * 32 - sum(lengths[i] for i in b) for b in batches)
    assert pad < 0.05 * sum(lengths[i] for i in flat)
