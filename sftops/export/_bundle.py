"""Export a trained model folder to a complete serving bundle (models/onnx/), or fail and write nothing.

Steps: serving tokenizer and label map first -> export fp32 ONNX -> parity gate on
test examples -> build variants and measure each one's test macro-F1, agreement and
speed against PyTorch -> drift reference from the validation split (texts the model
did not train on, so its confidences are those of live traffic) -> training text keys
(for the gate's overlap check) and manifest. Every ONNX variant runs through
`sftops.inference` with the bundle's own tokenizer, as a server will run it, and
PyTorch is fed the same padded batches.
"""

from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..atomic import atomic_path
from ..bundle import TRAIN_KEYS_FILE, BundleManifest, VariantInfo
from ..config import ExportConfig
from ..data.labels import LabelMap
from ..data.prepared import PreparedData, split_keys
from ..drift.reference import DriftReference, build_reference
from ..evaluation import classification_metrics
from ..exceptions import ExportError, ModelError
from ..inference import BundleTokenizer, ClassifierRuntime, Outputs
from ..paths import LABEL_MAP_FILE
from ._onnx import export_onnx
from ._parity import Parity, check_parity, compare
from ._runtime import bundle_tokenizer, onnx_outputs, torch_outputs, variant_runtime
from ._tokenizer import save_serving_tokenizer
from ._variants import VARIANT_DEVICES, VARIANT_FILES, build_variant
from ._wrapper import graph_inputs, load_classifier, with_embedding

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class VariantResult:
    """One variant measured on the test split against PyTorch."""

    name: str
    info: VariantInfo
    parity: Parity
    samples_per_s: float


@dataclass(frozen=True)
class ExportReport:
    """What export wrote and measured: the manifest, PyTorch's test macro-F1 and every variant."""

    folder: Path
    manifest: BundleManifest
    torch_macro_f1: float
    torch_samples_per_s: float
    n_test: int
    parity: Parity
    variants: dict[str, VariantResult]
    drift: DriftReference

    def metrics(self) -> dict[str, float | int | bool | None]:
        """Flat metrics for metrics/export.json and MLflow (`<variant>.<metric>`)."""
        out: dict[str, float | int | bool | None] = {
            "torch.macro_f1": self.torch_macro_f1,
            "torch.samples_per_s": self.torch_samples_per_s,
            "n_test": self.n_test,
            "parity.max_abs_diff": self.parity.max_abs_diff,
            "parity.embedding_max_abs_diff": self.parity.embedding_max_abs_diff,
            "parity.argmax_agreement": self.parity.argmax_agreement,
            "parity.n": self.parity.n,
        }
        for name, result in self.variants.items():
            info = result.info
            out.update({
                f"{name}.macro_f1": info.macro_f1,
                f"{name}.f1_delta": info.f1_delta,
                f"{name}.max_abs_diff": info.max_abs_diff,
                f"{name}.argmax_agreement": info.argmax_agreement,
                f"{name}.samples_per_s": result.samples_per_s,
                f"{name}.speedup_vs_torch": result.samples_per_s / self.torch_samples_per_s,
                f"{name}.published": info.published,
            })
        return out


def _macro_f1(y_true: np.ndarray, outputs: Outputs, label_map: LabelMap) -> float:
    return float(classification_metrics(y_true, outputs.predictions, label_map)["macro_f1"])


def _check_labels(model_dir: Path, data: PreparedData) -> LabelMap:
    label_map = LabelMap.load(model_dir / LABEL_MAP_FILE)
    if label_map != data.label_map:
        raise ExportError(
            f"{model_dir} was trained on labels {list(label_map.names)} but the prepared data has "
            f"{list(data.label_map.names)}; rerun `sftops train` (or `dvc repro`)"
        )
    return label_map


def publish_reason(name: str, info: VariantInfo, speed: float, fp32_speed: float, cfg: ExportConfig) -> str | None:
    """Why variant `name` must not be published (too much F1 lost, or a CPU variant no faster than fp32), else None."""
    if info.f1_delta is not None and -info.f1_delta > cfg.max_f1_drop:
        return f"loses {-info.f1_delta:.4f} test macro-F1 vs PyTorch (> export.max_f1_drop {cfg.max_f1_drop:g})"
    if cfg.require_speedup and VARIANT_DEVICES[name] == "cpu" and speed <= fp32_speed:
        return f"not faster than fp32 ONNX on this CPU ({speed:.0f} vs {fp32_speed:.0f} samples/s)"
    return None


def export_bundle(
    model_dir: str | Path, data: PreparedData, cfg: ExportConfig, *, max_length: int, target: str | Path
) -> ExportReport:
    """Export `model_dir` into the serving bundle `target`; on any failure raise and leave `target` untouched."""
    model_dir = Path(model_dir)
    if not (model_dir / "config.json").is_file():
        raise ModelError(f"{model_dir}: no trained model here; run `sftops train` (or `dvc repro train`) first")
    from ..modeling import load_tokenizer

    label_map = _check_labels(model_dir, data)
    tokenizer = load_tokenizer(model_dir)
    model = load_classifier(model_dir)
    names = graph_inputs(tokenizer)
    wrapper = with_embedding(model, names)

    test = data.test if cfg.eval_samples is None else data.test.head(cfg.eval_samples)
    if test.empty:
        raise ExportError("the test split is empty; export needs test examples for the parity gate")
    texts, y_true = test["text"].astype(str).tolist(), test["label"].to_numpy(dtype=int)
    n_parity = min(cfg.parity_samples, len(texts))
    labels = list(label_map.names)

    with atomic_path(target) as tmp:
        tmp.mkdir()
        # the serving tokenizer first: every variant is then measured exactly as a server will run it
        save_serving_tokenizer(tokenizer, tmp, max_length=max_length)
        label_map.save(tmp / LABEL_MAP_FILE)
        serving_tokenizer = bundle_tokenizer(tmp, max_length)

        def run_torch(some_texts: list[str]) -> Outputs:
            return torch_outputs(wrapper, serving_tokenizer, some_texts, cfg.batch_size)

        fp32_path = export_onnx(wrapper, tokenizer, names, tmp / VARIANT_FILES["fp32"], opset=cfg.opset)
        fp32 = variant_runtime(fp32_path, serving_tokenizer, labels, "fp32")
        parity = compare(run_torch(texts[:n_parity]), onnx_outputs(fp32, texts[:n_parity], cfg.batch_size))
        check_parity(parity, atol=cfg.parity_atol, min_agreement=cfg.min_argmax_agreement)
        log.info("parity ok on %d test examples: max |diff| %.2g, agreement %.4f", parity.n, parity.max_abs_diff, parity.argmax_agreement)

        reference = run_torch(texts)
        torch_f1 = _macro_f1(y_true, reference, label_map)
        results: dict[str, VariantResult] = {}
        runtimes: dict[str, ClassifierRuntime] = {}
        cfg_model = model.config
        for name in ["fp32", *cfg.variants]:
            path = fp32_path if name == "fp32" else build_variant(
                name, fp32_path, tmp, num_heads=cfg_model.num_attention_heads, hidden_size=cfg_model.hidden_size
            )
            runtime = fp32 if name == "fp32" else variant_runtime(path, serving_tokenizer, labels, name)
            onnx_outputs(runtime, texts[: cfg.batch_size], cfg.batch_size)  # warm-up, so speed excludes session start
            outputs = onnx_outputs(runtime, texts, cfg.batch_size)
            f1 = _macro_f1(y_true, outputs, label_map)
            variant_parity = compare(reference, outputs)
            info = VariantInfo(
                file=path.name, device=VARIANT_DEVICES[name], macro_f1=f1, f1_delta=f1 - torch_f1,
                max_abs_diff=variant_parity.max_abs_diff, argmax_agreement=variant_parity.argmax_agreement,
            )
            speed = len(texts) / outputs.seconds
            fp32_speed = results["fp32"].samples_per_s if name != "fp32" else speed
            reason = publish_reason(name, info, speed, fp32_speed, cfg)
            if reason:
                info = info.model_copy(update={"published": False, "reason": reason})
            results[name] = VariantResult(name, info, variant_parity, speed)
            if info.published:
                runtimes[name] = runtime
            log.info("%s: macro-F1 %.4f (%+.4f), agreement %.4f, %.0f samples/s%s", name, f1, f1 - torch_f1,
                     variant_parity.argmax_agreement, speed, f" -- not published: {reason}" if reason else "")

        n_train_keys = _write_train_keys(data, tmp / TRAIN_KEYS_FILE)
        drift = _drift_reference(data, cfg.drift_samples, tmp, serving_tokenizer, runtimes, cfg.batch_size)
        manifest = BundleManifest(
            max_length=max_length, inputs=names, labels=labels, train_keys_file=TRAIN_KEYS_FILE,
            variants={name: result.info for name, result in results.items()},
        )
        manifest.save(tmp)
        BundleManifest.load(tmp)  # the same check the server makes
        for result in results.values():
            if not result.info.published:  # keep the bundle small: unpublished files are not shipped
                (tmp / result.info.file).unlink(missing_ok=True)
        shutil.rmtree(tmp / ".cache", ignore_errors=True)
    log.info("serving bundle written to %s (%d training text keys for the gate's overlap check)", target, n_train_keys)
    return ExportReport(
        folder=Path(target), manifest=manifest, torch_macro_f1=torch_f1, torch_samples_per_s=len(texts) / reference.seconds,
        n_test=len(texts), parity=parity, variants=results, drift=drift,
    )


def _write_train_keys(data: PreparedData, path: Path) -> int:
    """Write the training split's distinct text keys, sorted, one a line: the gate counts test texts this model saw."""
    keys = split_keys(data.train)  # what prepare writes to data/prepared/train_keys.txt
    path.write_text("".join(f"{k}\n" for k in keys), encoding="utf-8")
    return len(keys)


def _drift_reference(
    data: PreparedData, samples: int, folder: Path, tokenizer: BundleTokenizer, runtimes: dict[str, ClassifierRuntime],
    batch_size: int,
) -> DriftReference:
    """Run every published variant over the validation split (a seeded sample of `samples` if larger) and summarise it.

    Not the training split: there the model is over-confident, so ordinary unseen traffic would look shifted.
    Token counts are the bundle tokenizer's, as the server counts them (truncated, never padded).
    """
    split = data.validation
    if split.empty:
        raise ExportError("the validation split is empty; the drift reference needs texts the model did not train on")
    if len(split) > samples:
        split = split.sample(n=samples, random_state=0)
    texts = split["text"].astype(str).tolist()
    outputs = {name: onnx_outputs(runtime, texts, batch_size) for name, runtime in runtimes.items()}
    reference = build_reference(
        token_ids=[e.ids for e in tokenizer.encode(texts).encodings],
        unk_token_id=tokenizer.unk_id,
        logits=outputs["fp32"].logits,
        true_labels=split["label"].to_numpy(dtype=int),
        embeddings={name: out.embedding for name, out in outputs.items() if out.embedding is not None},
        labels=runtimes["fp32"].labels,
        max_length=tokenizer.max_length,
        folder=folder,
        split="validation",
    )
    reference.save(folder)
    return reference
