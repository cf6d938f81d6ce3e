"""Measure drift false alarms as the loop is deployed, and detection of shifted text, on a fine-tuned bundle.

Run it in a project after `dvc repro`: the bundle export wrote (models/onnx, served variant and
all, as `sftops.inference.load_runtime` picks it for serve.device) and that bundle's own drift
reference. Every window of `drift.window` texts is classified by the serving runtime and checked by
the server's `ServingMonitor` (alarms go to a throw-away journal; no retrain is started).

In-distribution windows hold texts the model never trained on: its test split, and corpus rows
that no split used (the default profile caps the splits, so most of the tweets are unused).
Side by side, the same windows are checked against a reference built like exports before the
fix: from training texts, where the model is over-confident. Shifted windows mix in paragraphs of
Python's own documentation (`pydoc_data.topics`, shipped with CPython).

    python bench/drift_false_alarms.py [--project .] [--windows 100] [--shift-windows 20]
"""

from __future__ import annotations

import argparse
import logging
import re
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np


def python_docs(n: int, seed: int) -> list[str]:
    from pydoc_data.topics import topics

    paragraphs = [re.sub(r"\s+", " ", p).strip() for doc in topics.values() for p in doc.split("\n\n")]
    usable = [p[:280] for p in paragraphs if len(p) >= 40 and not p.startswith(("*", "-", ">>>", "="))]
    rng = np.random.default_rng(seed)
    return [usable[i] for i in rng.choice(len(usable), size=min(n, len(usable)), replace=False)]


def unused_corpus_texts(params, prepared) -> list[str]:
    """Rows of the source corpus (cleaned as prepare cleans it) whose text no prepared split holds."""
    from sftops.data.clean import clean
    from sftops.data.keys import text_key
    from sftops.data.sources import load_source

    frame, _ = clean(load_source(params.data.model_copy(update={"extra_sources": []})), params.data)
    used = {k for split in ("train", "validation", "test") for k in prepared.keys(split)}
    return [t for t in frame["text"].astype(str) if text_key(t) not in used]


def predict(runtime, texts: Sequence[str], batch: int) -> list:
    out = []
    for i in range(0, len(texts), batch):
        out += runtime.predict(texts[i : i + batch])
    return out


def profile_from(predictions: Sequence, labels: Sequence[str]):
    """A reference profile from served predictions (how a training-split reference looked, for the side by side)."""
    from sftops.drift import ReferenceProfile

    probs = np.array([[p.probabilities[name] for name in labels] for p in predictions])
    return ReferenceProfile(
        embeddings=np.stack([p.embedding for p in predictions]),
        label_counts=np.bincount(probs.argmax(1), minlength=len(labels)),
        confidences=probs.max(1),
        token_lengths=np.array([p.n_tokens for p in predictions]),
        unknown_hits=sum(1 for p in predictions if p.n_unknown),
        unknown_trials=len(predictions),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--project", default=".", help="project folder after `dvc repro` (models/onnx, data/prepared)")
    parser.add_argument("--params", default=None, help="params file (default: the project's params.yaml)")
    parser.add_argument("--windows", type=int, default=100, help="windows per in-distribution source (>= 100)")
    parser.add_argument("--shift-windows", type=int, default=20, help="windows per out-of-domain fraction")
    parser.add_argument("--unused", type=int, default=8000, help="unused corpus rows to draw windows from")
    args = parser.parse_args()

    from prometheus_client import CollectorRegistry

    from sftops.config import load_params
    from sftops.data.prepared import load_prepared
    from sftops.drift.reference import DriftReference
    from sftops.inference import load_runtime
    from sftops_serving.monitor import ServingMonitor

    logging.getLogger("sftops_serving.monitor").setLevel(logging.ERROR)  # one "drift alarm" log line per alarmed window
    project = Path(args.project)
    params = load_params(args.params or project / "params.yaml")
    bundle = project / "models" / "onnx"
    cfg = params.drift.model_copy(update={"check_every": 10**9})  # only our explicit checks run, one per window
    runtime = load_runtime(bundle, device=params.serve.device, variant=params.serve.variant)
    reference = DriftReference.load(bundle)
    labels = runtime.labels
    prepared = load_prepared(project / "data" / "prepared")
    rng = np.random.default_rng(0)

    test = prepared.test["text"].astype(str).tolist()
    unused = unused_corpus_texts(params, prepared)
    n_unused_total = len(unused)
    unused = [unused[i] for i in rng.choice(len(unused), size=min(args.unused, len(unused)), replace=False)]
    train = prepared.train.sample(n=min(1000, len(prepared.train)), random_state=0)["text"].astype(str).tolist()
    docs = python_docs(800, seed=0)
    t0 = time.perf_counter()
    batch = params.serve.max_batch_size
    preds = {name: predict(runtime, texts, batch) for name, texts in
             (("test", test), ("unused", unused), ("train", train), ("docs", docs))}
    n = sum(len(p) for p in preds.values())
    print(f"bundle {bundle}: variant {runtime.variant} on {runtime.provider}; reference: {reference.n} {reference.split} "
          f"texts; served {n} texts in {time.perf_counter() - t0:.0f}s")
    print(f"unseen pools: test split {len(test)}, unused corpus rows {n_unused_total} (drew {len(unused)}); "
          f"prepared train/validation/test = {len(prepared.train)}/{len(prepared.validation)}/{len(test)}")

    with tempfile.TemporaryDirectory(prefix="sftops-drift-bench-") as tmp:
        monitor = ServingMonitor(cfg, registry=CollectorRegistry(), project_dir=tmp, on_alarm=lambda report: None,
                                 alarm_db=Path(tmp) / "alarms.db")
        profiles = {
            f"bundle reference ({reference.split})": reference.profile(bundle, runtime.variant),
            "training-split reference (before)": profile_from(preds["train"], labels),
        }

        def check(profile, window: list) -> tuple[bool, set[str], float]:
            monitor.set_reference(profile, labels, "bench")
            monitor.observe_predictions(window)
            start = time.perf_counter()
            report = monitor.check_now()
            assert report is not None and report.window_size == len(window), "the check did not see the whole window"
            return report.alarm, {d.name for d in report.detectors if d.alarm}, time.perf_counter() - start

        def windows(pool: list, k: int, count: int, extra: list | None = None, j: int = 0) -> list[list]:
            out = []
            for _ in range(count):
                picked = [pool[i] for i in rng.choice(len(pool), k, replace=False)]
                if extra:
                    picked += [extra[i] for i in rng.choice(len(extra), j, replace=False)]
                out.append(picked)
            return out

        w = cfg.window
        print(f"window={w} p_value={cfg.p_value} detectors={cfg.detectors} (each at {cfg.detector_alpha:.4f}) "
              f"mmd_permutations={cfg.mmd_permutations}; target: at most {cfg.p_value:g} of checks alarm")
        in_dist = {"test split": windows(preds["test"], min(w, len(preds["test"])), args.windows),
                   "unused corpus": windows(preds["unused"], w, args.windows)}
        for ref_name, profile in profiles.items():
            overall = []
            for source, wins in in_dist.items():
                results = [check(profile, win) for win in wins]
                overall += results
                per = {d: sum(d in r[1] for r in results) for d in cfg.detectors}
                print(f"{ref_name:<36} {source:<14} {sum(r[0] for r in results):>3}/{len(results)} windows alarmed "
                      f"(rate {np.mean([r[0] for r in results]):.3f}); per detector {per}")
            rate = np.mean([r[0] for r in overall])
            print(f"{ref_name:<36} {'overall':<14} {sum(r[0] for r in overall):>3}/{len(overall)} windows alarmed "
                  f"(false-alarm rate {rate:.3f}, target <= {cfg.p_value:g}: {'met' if rate <= cfg.p_value else 'NOT met'}); "
                  f"check {np.mean([r[2] for r in overall]):.2f}s")
        profile = profiles[f"bundle reference ({reference.split})"]
        for fraction in (1.0, 0.5, 0.2, 0.1, 0.05):
            k = round(fraction * w)
            shifted = [check(profile, win) for win in windows(preds["unused"], w - k, args.shift_windows, preds["docs"], k)]
            per = {d: sum(d in r[1] for r in shifted) for d in cfg.detectors}
            print(f"{fraction:>4.0%} Python-docs text: detected in {sum(r[0] for r in shifted)}/{len(shifted)} windows; "
                  f"per detector {per}")
        monitor.close()


if __name__ == "__main__":
    main()
