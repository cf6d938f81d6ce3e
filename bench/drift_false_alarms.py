"""Measure the drift monitor: false-alarm rate on held-back in-distribution tweets, detection of shifted text.

Texts are embedded with the real all-MiniLM-L6-v2 (torch, mean pooling, max 64 tokens). A
nearest-centroid classifier fitted on a separate slice of tweets supplies class probabilities
(label and confidence detectors). Out-of-domain text: paragraphs of Python's own documentation
(`pydoc_data.topics`, shipped with CPython). Every window is compared with a reference built
from 1000 other tweets, using the `drift` section of params.yaml.

    python bench/drift_false_alarms.py [--windows 100] [--params params.yaml]
"""

from __future__ import annotations

import argparse
import re
import time

import numpy as np

from sftops.config import load_params
from sftops.data.clean import clean
from sftops.data.sources import load_source
from sftops.defaults import builtin_model_dir
from sftops.drift import DriftMonitor, Observations, ReferenceProfile


def tweets(n: int, seed: int) -> tuple[list[str], list[str]]:
    params = load_params("params.yaml")
    frame, _ = clean(load_source(params.data.model_copy(update={"extra_sources": []})), params.data)
    frame = frame.sample(n=n, random_state=seed)
    return frame["text"].tolist(), frame["label"].tolist()


def python_docs(n: int, seed: int) -> list[str]:
    from pydoc_data.topics import topics

    paragraphs = [re.sub(r"\s+", " ", p).strip() for doc in topics.values() for p in doc.split("\n\n")]
    usable = [p[:280] for p in paragraphs if 40 <= len(p) and not p.startswith(("*", "-", ">>>", "="))]
    rng = np.random.default_rng(seed)
    return [usable[i] for i in rng.choice(len(usable), size=min(n, len(usable)), replace=False)]


def embed(texts: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(embeddings, n_tokens, n_unknown) with MiniLM mean pooling."""
    import torch
    from transformers import AutoModel, AutoTokenizer

    folder = builtin_model_dir()
    tok = AutoTokenizer.from_pretrained(folder)
    model = AutoModel.from_pretrained(folder).eval()
    out, lengths, unknown = [], [], []
    with torch.inference_mode():
        for i in range(0, len(texts), 64):
            enc = tok(texts[i : i + 64], padding=True, truncation=True, max_length=64, return_tensors="pt")
            hidden = model(**enc).last_hidden_state
            mask = enc["attention_mask"].unsqueeze(-1).float()
            out.append(((hidden * mask).sum(1) / mask.sum(1)).numpy())
            lengths += enc["attention_mask"].sum(1).tolist()
            unknown += (enc["input_ids"] == tok.unk_token_id).sum(1).tolist()
    return np.vstack(out).astype(np.float32), np.array(lengths), np.array(unknown)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--windows", type=int, default=100, help="in-distribution windows (false alarms)")
    parser.add_argument("--shift-windows", type=int, default=20, help="windows per out-of-domain fraction")
    args = parser.parse_args()
    cfg = load_params(args.params).drift
    n_fit, n_ref, n_pool = 600, 1000, 2400
    texts, labels = tweets(n_fit + n_ref + n_pool, seed=0)
    ood = python_docs(800, seed=0)
    t0 = time.perf_counter()
    emb, tokens, unk = embed(texts + ood)
    print(f"embedded {len(texts) + len(ood)} texts in {time.perf_counter() - t0:.0f}s")
    names = sorted(set(labels))
    y = np.array([names.index(label) for label in labels])
    unit = emb / np.linalg.norm(emb, axis=1, keepdims=True)
    centroids = np.stack([unit[:n_fit][y[:n_fit] == k].mean(0) for k in range(len(names))])
    logits = 20 * unit @ (centroids / np.linalg.norm(centroids, axis=1, keepdims=True)).T
    probs = np.exp(logits - logits.max(1, keepdims=True))
    probs /= probs.sum(1, keepdims=True)
    obs = Observations(emb, probs, tokens, unk)
    ref = slice(n_fit, n_fit + n_ref)
    reference = ReferenceProfile(emb[ref], np.bincount(probs[ref].argmax(1), minlength=len(names)), probs[ref].max(1),
                                 tokens[ref], int((unk[ref] > 0).sum()), n_ref)
    pool = np.arange(n_fit + n_ref, n_fit + n_ref + n_pool)
    ood_idx = np.arange(len(texts), len(texts) + len(ood))
    rng = np.random.default_rng(1)

    def run(idx: np.ndarray) -> tuple[bool, set[str], float]:
        monitor = DriftMonitor(reference, cfg)
        monitor.observe(Observations(obs.embeddings[idx], obs.probs[idx], obs.n_tokens[idx], obs.n_unknown[idx]))
        start = time.perf_counter()
        report = monitor.evaluate()
        return report.alarm, {d.name for d in report.detectors if d.alarm}, time.perf_counter() - start

    print(f"window={cfg.window} p_value={cfg.p_value} detectors={cfg.detectors} "
          f"(each at {cfg.detector_alpha:.4f}) mmd_permutations={cfg.mmd_permutations}")
    results = [run(rng.choice(pool, cfg.window, replace=False)) for _ in range(args.windows)]
    per = {name: sum(name in r[1] for r in results) for name in cfg.detectors}
    print(f"in-distribution: {sum(r[0] for r in results)}/{len(results)} windows alarmed "
          f"(false-alarm rate {np.mean([r[0] for r in results]):.3f}); per detector {per}; "
          f"evaluate() {np.mean([r[2] for r in results]):.2f}s per window")
    for fraction in (1.0, 0.5, 0.2, 0.1, 0.05):
        k = int(round(fraction * cfg.window))
        shifted = [run(np.concatenate([rng.choice(ood_idx, k, replace=False),
                                       rng.choice(pool, cfg.window - k, replace=False)]))
                   for _ in range(args.shift_windows)]
        per = {name: sum(name in r[1] for r in shifted) for name in cfg.detectors}
        print(f"{fraction:>4.0%} Python-docs text: detected in {sum(r[0] for r in shifted)}/{len(shifted)} windows; per detector {per}")


if __name__ == "__main__":
    main()
