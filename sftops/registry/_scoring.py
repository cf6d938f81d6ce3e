"""Score a serving bundle on labelled texts with ONNX Runtime: the one code path the gate uses for both models."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..bundle import BundleManifest
from ..exceptions import RegistryError

_FP32 = "fp32"


@dataclass(frozen=True)
class BundleScore:
    """Test-split metrics of one bundle, computed here rather than read from stored numbers."""

    accuracy: float
    macro_f1: float
    n: int

    def metric(self, name: str) -> float:
        return {"accuracy": self.accuracy, "macro_f1": self.macro_f1}[name]


def _tokenizer(folder: Path, manifest: BundleManifest):
    """The bundle's fast tokenizer, truncating at the export's max_length, unpadded; and its pad id."""
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(folder / manifest.tokenizer_file))
    padding = tok.padding  # export saves the model's pad id here
    tok.enable_truncation(max_length=manifest.max_length)
    tok.no_padding()
    if padding:
        return tok, int(padding["pad_id"])
    pad_token = "[PAD]"
    config = folder / "tokenizer_config.json"
    if config.is_file():
        pad_token = json.loads(config.read_text(encoding="utf-8")).get("pad_token") or pad_token
    return tok, tok.token_to_id(pad_token) or 0


def _session(path: Path):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3
    try:
        return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # ORT raises its own pybind error types for corrupt or invalid graphs
        raise RegistryError(f"{path}: ONNX Runtime cannot load this model ({exc}); re-export it") from None


def predict_bundle(folder: str | Path, texts: Sequence[str], batch_size: int = 64) -> tuple[BundleManifest, np.ndarray]:
    """Argmax class ids of the bundle's fp32 `model.onnx` for `texts` (batches sorted by length to cut padding)."""
    folder = Path(folder)
    manifest = BundleManifest.load(folder)
    if _FP32 not in manifest.variants:
        raise RegistryError(f"{folder}: bundle has no fp32 variant to score; re-export the model")
    session = _session(folder / manifest.variants[_FP32].file)
    tok, pad_id = _tokenizer(folder, manifest)
    encodings = tok.encode_batch(list(texts))
    order = np.argsort([len(e.ids) for e in encodings], kind="stable")
    fields = {"input_ids": ("ids", pad_id), "attention_mask": ("attention_mask", 0), "token_type_ids": ("type_ids", 0)}
    unknown = sorted(set(manifest.inputs) - set(fields))
    if unknown:
        raise RegistryError(f"{folder}: bundle inputs {unknown} are not tokenizer outputs {sorted(fields)}")
    preds = np.empty(len(texts), dtype=np.int64)
    for start in range(0, len(texts), batch_size):
        idx = order[start : start + batch_size]
        width = max(len(encodings[i].ids) for i in idx)
        feed = {}
        for name in manifest.inputs:
            attr, pad = fields[name]
            batch = np.full((len(idx), width), pad, dtype=np.int64)
            for row, i in enumerate(idx):
                values = getattr(encodings[i], attr)
                batch[row, : len(values)] = values
            feed[name] = batch
        try:
            (logits,) = session.run(["logits"], feed)
        except Exception as exc:
            raise RegistryError(f"{folder}: ONNX Runtime failed to run the model ({exc}); re-export it") from None
        preds[idx] = logits.argmax(axis=1)
    return manifest, preds


def score_bundle(folder: str | Path, texts: Sequence[str], label_names: Sequence[str], batch_size: int = 64) -> BundleScore:
    """Accuracy and macro-F1 of a bundle on labelled texts, matching labels by name."""
    from sklearn.metrics import accuracy_score, f1_score

    manifest, preds = predict_bundle(folder, texts, batch_size)
    unknown = sorted(set(label_names) - set(manifest.labels))
    if unknown:
        raise RegistryError(f"{folder}: the test split has labels {unknown} the model does not know {manifest.labels}")
    index = {name: i for i, name in enumerate(manifest.labels)}
    truth = np.array([index[name] for name in label_names], dtype=np.int64)
    labels = list(range(len(manifest.labels)))
    return BundleScore(
        accuracy=float(accuracy_score(truth, preds)),
        macro_f1=float(f1_score(truth, preds, labels=labels, average="macro", zero_division=0)),
        n=len(truth),
    )
