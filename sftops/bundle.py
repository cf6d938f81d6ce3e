"""The serving bundle: the folder export writes (models/onnx/) and the server reads.

It is attached to a registered model version (run artifact path `serving/`), so
`models:/NAME@champion` alone is enough to serve. Only pydantic here: the server
imports this without torch or transformers.

    models/onnx/
      manifest.json            this schema
      model.onnx               fp32, dynamic batch and sequence axes
      model.optimized.onnx     ORT graph-optimised fp32 (CPU)
      model.int8.onnx          dynamic int8 (CPU)
      model.fp16.onnx          fp16 (CUDA)
      tokenizer.json, tokenizer_config.json, ...
      label_map.json           class names, or for token classification the IOB2 tag names (O first)
      drift_reference.json     drift reference profile (see sftops/drift)
      train_keys.txt           text keys (sftops.data.keys.text_key) of the training split, sorted, one a line:
                               the gate counts today's test texts this model trained on
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from .exceptions import RegistryError
from .records import load_record, save_record

MANIFEST_FILE = "manifest.json"
BUNDLE_ARTIFACT_PATH = "serving"  # run artifact path of the bundle on a registered version's run
TRAIN_KEYS_FILE = "train_keys.txt"

Device = Literal["cpu", "cuda"]
RequestedDevice = Literal["auto", "cpu", "cuda"]
BundleTask = Literal["classification", "token_classification"]


def cuda_works() -> bool:
    """True when this onnxruntime build has the CUDA provider and a GPU may be present."""
    import onnxruntime as ort

    if "CUDAExecutionProvider" not in ort.get_available_providers():
        return False
    # onnxruntime-gpu lists CUDA even on GPU-less hosts; opening a session proves the provider really started
    return Path("/dev/nvidiactl").exists() or bool(os.environ.get("CUDA_VISIBLE_DEVICES"))


def serving_device(requested: RequestedDevice) -> Device:
    """The device a server asked for `requested` (serve.device) tries first: CUDA when asked, or on auto when it works."""
    if requested == "cpu":
        return "cpu"
    return "cuda" if requested == "cuda" or cuda_works() else "cpu"


class VariantInfo(BaseModel):
    """One ONNX file of the bundle and how it compared with PyTorch on the test split.

    A classifier's variant has macro_f1 and argmax_agreement (per text); a tagger's has entity_f1 and
    tag_agreement (per word, at each word's first sub-token). f1_delta is in the task's own F1.
    """

    model_config = ConfigDict(extra="forbid")

    file: str
    device: Literal["any", "cpu", "cuda"]
    macro_f1: float | None = None
    entity_f1: float | None = None
    f1_delta: float | None = Field(
        None, description="variant F1 minus PyTorch F1 on the test split: macro-F1 (classification) or entity F1 (tokens)"
    )
    max_abs_diff: float | None = None
    argmax_agreement: float | None = None
    tag_agreement: float | None = Field(None, description="fraction of words whose tag (first sub-token argmax) matches PyTorch")
    published: bool = True
    reason: str | None = Field(None, description="why a variant is not published")


class BundleManifest(BaseModel):
    """What a server needs to know to run a bundle."""

    model_config = ConfigDict(extra="forbid")

    format: Literal[1] = 1
    task: BundleTask = Field("classification", description="classification: logits (B, K); token_classification: (B, T, K)")
    max_length: int
    inputs: list[str]
    outputs: list[str] = ["logits", "embedding"]
    labels: list[str] = Field(description="class names, or IOB2 tag names for token classification")
    entity_types: list[str] = Field([], description="entity types of the tag names (token classification), else empty")
    tokenizer_file: str = "tokenizer.json"
    label_map_file: str = "label_map.json"
    drift_reference_file: str | None = "drift_reference.json"
    train_keys_file: str | None = Field(None, description="text keys of the training split; None in older bundles")
    variants: dict[str, VariantInfo]

    def published(self, device: Literal["cpu", "cuda"]) -> list[str]:
        """Published variant names usable on `device`, best first (int8/optimized on CPU, fp16 on CUDA)."""
        preference = ["int8", "optimized", "fp32"] if device == "cpu" else ["fp16", "fp32"]
        usable = {name for name, v in self.variants.items() if v.published and v.device in ("any", device)}
        return [name for name in preference if name in usable]

    def serving_variants(self, device: Device, forced: str | None = None) -> list[str]:
        """The variants a server on `device` tries, in order: `forced` (serve.variant) alone, else `published(device)`.

        The server loads the first that starts; the promotion gate scores the first, so it judges what will serve.
        """
        return [forced] if forced else self.published(device)

    def train_keys(self, folder: str | Path) -> frozenset[str] | None:
        """The text keys of the data this model trained on, or None when the bundle does not say (older exports)."""
        if self.train_keys_file is None:
            return None
        path = Path(folder) / self.train_keys_file
        try:
            return frozenset(line for line in path.read_text(encoding="utf-8").splitlines() if line)
        except FileNotFoundError:
            return None

    def save(self, folder: str | Path) -> Path:
        return save_record(self, Path(folder) / MANIFEST_FILE)

    @classmethod
    def load(cls, folder: str | Path) -> BundleManifest:
        """Read and check a bundle folder's manifest and that every published file is present."""
        folder = Path(folder)
        manifest = load_record(cls, folder / MANIFEST_FILE, RegistryError,
                               missing="not a serving bundle (no manifest); run `sftops export`",
                               malformed="malformed bundle manifest; re-export the model")
        missing = [v.file for v in manifest.variants.values() if v.published and not (folder / v.file).is_file()]
        missing += [f for f in (manifest.tokenizer_file, manifest.label_map_file) if not (folder / f).is_file()]
        if missing:
            raise RegistryError(f"{folder}: bundle is missing {missing}; re-export and re-register the model")
        return manifest
