"""Score a serving bundle on labelled texts with ONNX Runtime: the one code path the gate uses for both models.

It scores the variant a server would serve (`sftops.bundle.serving_device` and `serving_variants`: int8 on
CPU when published, fp16 on CUDA), not always fp32, and counts the texts the bundle's model trained on.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..bundle import BundleManifest, Device, RequestedDevice, serving_device
from ..exceptions import RegistryError

log = logging.getLogger(__name__)
_CUDA = "CUDAExecutionProvider"
_CPU = "CPUExecutionProvider"


@dataclass(frozen=True)
class BundleScore:
    """Test-split metrics of one bundle, computed here rather than read from stored numbers."""

    accuracy: float
    macro_f1: float
    n: int
    variant: str = "fp32"
    device: str = "cpu"
    train_overlap: int | None = None  # texts scored that the model trained on; None: the bundle does not say

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


def _session(path: Path, device: Device):
    """A session on `device`, or None when CUDA was asked for and did not start (as the server falls back)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3
    try:
        session = ort.InferenceSession(str(path), options, providers=[_CUDA, _CPU] if device == "cuda" else [_CPU])
    except Exception as exc:  # ORT raises its own pybind error types for corrupt or invalid graphs
        if device == "cuda":
            return None
        raise RegistryError(f"{path}: ONNX Runtime cannot load this model ({exc}); re-export it") from None
    return session if device == "cpu" or session.get_providers()[0] == _CUDA else None


def serving_session(folder: Path, manifest: BundleManifest, device: RequestedDevice = "cpu", variant: str | None = None):
    """(variant, device, session): the variant a server with serve.device=`device`, serve.variant=`variant` would serve."""
    wanted = serving_device(device)
    for dev in [wanted, "cpu"] if wanted == "cuda" and device == "auto" else [wanted]:
        names = manifest.serving_variants(dev, variant)
        if not names:
            continue
        info = manifest.variants.get(names[0])
        if info is None or not info.published:
            raise RegistryError(f"serve.variant={names[0]!r} is not a published variant of {folder} ({list(manifest.variants)})")
        session = _session(folder / info.file, dev)
        if session is not None:
            return names[0], dev, session
        log.warning("%s: CUDA did not start for %s; scoring the CPU variant, as a server would serve", folder, info.file)
    raise RegistryError(f"{folder}: no published variant to score on {wanted} ({list(manifest.variants)}); re-export the model")


def predict_bundle(
    folder: str | Path, texts: Sequence[str], batch_size: int = 64, device: RequestedDevice = "cpu", variant: str | None = None
) -> tuple[BundleManifest, np.ndarray, str, Device]:
    """Argmax class ids for `texts` from the variant a server would serve (batches sorted by length to cut padding).

    Returns the manifest, the predictions, and which variant on which device produced them.
    """
    folder = Path(folder)
    manifest = BundleManifest.load(folder)
    chosen, used_device, session = serving_session(folder, manifest, device, variant)
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
    return manifest, preds, chosen, used_device


def score_bundle(
    folder: str | Path, texts: Sequence[str], label_names: Sequence[str], batch_size: int = 64,
    device: RequestedDevice = "cpu", variant: str | None = None,
) -> BundleScore:
    """Accuracy and macro-F1 of the variant a server would serve, on labelled texts (labels matched by name).

    Also counts how many of `texts` the bundle's model trained on (its train_keys.txt), None if it has no keys.
    """
    from sklearn.metrics import accuracy_score, f1_score

    from ..data.keys import text_key

    manifest, preds, chosen, used_device = predict_bundle(folder, texts, batch_size, device, variant)
    keys = manifest.train_keys(folder)
    overlap = None if keys is None else sum(1 for t in texts if text_key(t) in keys)
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
        variant=chosen,
        device=used_device,
        train_overlap=overlap,
    )
