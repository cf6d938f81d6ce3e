"""Export a trained model folder to a complete serving bundle (models/onnx/), or fail and write nothing.

Steps: serving tokenizer and label map first -> export fp32 ONNX -> parity gate on
test examples -> build variants and measure each one's test F1 (macro-F1 for a classifier,
entity F1 for a token classifier), agreement and speed against PyTorch -> drift reference from
the validation split (texts the model did not train on, so its confidences are those of live
traffic) -> training text keys (for the gate's overlap check) and manifest. Every ONNX variant
runs through `sftops.inference` with the bundle's own tokenizer, as a server will run it, and
PyTorch is fed the same padded batches (`_evaluation`).
"""

from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass
from pathlib import Path

from ..atomic import atomic_path
from ..bundle import TRAIN_KEYS_FILE, BundleManifest, VariantInfo
from ..config import ExportConfig
from ..console import progress
from ..data.labels import LabelMap
from ..data.prepared import PreparedData, split_keys
from ..drift.reference import DriftReference
from ..exceptions import ExportError, ModelError
from ..inference import Aggregation
from ..paths import LABEL_MAP_FILE
from ._evaluation import ClassifierEvaluation, ExportEvaluation, Out, R, TaggerEvaluation, entity_types_of
from ._onnx import export_onnx
from ._parity import Parity, check_parity
from ._runtime import bundle_tokenizer
from ._tokenizer import save_serving_tokenizer
from ._variants import VARIANT_DEVICES, VARIANT_FILES, Int8Recipe, build_variant
from ._wrapper import graph_inputs, load_model, model_task, with_embedding

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
    """What export wrote and measured: the manifest, PyTorch's test F1 (`metric`: macro_f1 or entity_f1), every variant."""

    folder: Path
    manifest: BundleManifest
    metric: str
    torch_f1: float
    torch_samples_per_s: float
    n_test: int
    parity: Parity
    variants: dict[str, VariantResult]
    drift: DriftReference

    def metrics(self) -> dict[str, float | int | bool | None]:
        """Flat metrics for metrics/export.json and MLflow (`<variant>.<metric>`).

        The F1 and agreement keys name the task's: macro_f1 / argmax_agreement, or entity_f1 / tag_agreement."""
        agreement = "argmax_agreement" if self.parity.words is None else "tag_agreement"
        out: dict[str, float | int | bool | None] = {
            f"torch.{self.metric}": self.torch_f1,
            "torch.samples_per_s": self.torch_samples_per_s,
            "n_test": self.n_test,
            "parity.max_abs_diff": self.parity.max_abs_diff,
            "parity.embedding_max_abs_diff": self.parity.embedding_max_abs_diff,
            f"parity.{agreement}": self.parity.argmax_agreement,
            "parity.n": self.parity.n,
        }
        if self.parity.words is not None:
            out["parity.words"] = self.parity.words
        for name, result in self.variants.items():
            info = result.info
            out.update({
                f"{name}.{self.metric}": getattr(info, self.metric),
                f"{name}.f1_delta": info.f1_delta,
                f"{name}.max_abs_diff": info.max_abs_diff,
                f"{name}.{agreement}": getattr(info, agreement),
                f"{name}.samples_per_s": result.samples_per_s,
                f"{name}.speedup_vs_torch": result.samples_per_s / self.torch_samples_per_s,
                f"{name}.published": info.published,
            })
        return out


def _check_labels(model_dir: Path, data: PreparedData) -> LabelMap:
    label_map = LabelMap.load(model_dir / LABEL_MAP_FILE)
    if label_map != data.label_map:
        raise ExportError(
            f"{model_dir} was trained on labels {list(label_map.names)} but the prepared data has "
            f"{list(data.label_map.names)}; rerun `sftops train` (or `dvc repro`)"
        )
    return label_map


def publish_reason(
    name: str, info: VariantInfo, speed: float, fp32_speed: float, cfg: ExportConfig, metric: str = "macro_f1"
) -> str | None:
    """Why variant `name` must not be published (too much F1 lost, too many answers changed, or a CPU variant no faster
    than fp32), else None."""
    if info.f1_delta is not None and -info.f1_delta > cfg.max_f1_drop:
        what = "macro-F1" if metric == "macro_f1" else "entity F1"
        return f"loses {-info.f1_delta:.4f} test {what} vs PyTorch (> export.max_f1_drop {cfg.max_f1_drop:g})"
    agreement = info.argmax_agreement if info.tag_agreement is None else info.tag_agreement
    if agreement is not None and agreement < cfg.min_agreement:
        what = "argmax" if metric == "macro_f1" else "tag"
        return f"{what} agreement with PyTorch {agreement:.4f} < export.min_agreement {cfg.min_agreement:g}"
    if cfg.require_speedup and VARIANT_DEVICES[name] == "cpu" and speed <= fp32_speed:
        return f"not faster than fp32 ONNX on this CPU ({speed:.0f} vs {fp32_speed:.0f} samples/s)"
    return None


def export_bundle(
    model_dir: str | Path, data: PreparedData, cfg: ExportConfig, *, max_length: int, target: str | Path,
    aggregation: Aggregation = "first",
) -> ExportReport:
    """Export `model_dir` into the serving bundle `target`; on any failure raise and leave `target` untouched.

    A token classifier (its folder's task, which must match the prepared data's) is exported with per-token
    logits and scored by entity F1 with its words' tags joined by `aggregation` (serve.aggregation)."""
    model_dir = Path(model_dir)
    if not (model_dir / "config.json").is_file():
        raise ModelError(f"{model_dir}: no trained model here; run `sftops train` (or `dvc repro train`) first")
    from ..modeling import load_tokenizer

    task = model_task(model_dir)
    if task != data.task:
        raise ExportError(
            f"{model_dir} holds a {task} model but the prepared data is for {data.task}; "
            "rerun `sftops train` (or `dvc repro`) after changing params.task"
        )
    label_map = _check_labels(model_dir, data)
    tokenizer = load_tokenizer(model_dir)
    model = load_model(model_dir, task)
    names = graph_inputs(tokenizer)
    wrapper = with_embedding(model, names)

    test = data.test if cfg.eval_samples is None else data.test.head(cfg.eval_samples)
    if test.empty:
        raise ExportError("the test split is empty; export needs test examples for the parity gate")

    with atomic_path(target) as tmp:
        tmp.mkdir()
        # the serving tokenizer first: every variant is then measured exactly as a server will run it
        save_serving_tokenizer(tokenizer, tmp, max_length=max_length)
        label_map.save(tmp / LABEL_MAP_FILE)
        serving_tokenizer = bundle_tokenizer(tmp, max_length)
        per_token = task == "token_classification"
        fp32_path = export_onnx(wrapper, tokenizer, names, tmp / VARIANT_FILES["fp32"], opset=cfg.opset, per_token=per_token)
        shape = {"num_heads": model.config.num_attention_heads, "hidden_size": model.config.hidden_size}
        if per_token:
            measured = _measure(TaggerEvaluation(wrapper, serving_tokenizer, test, label_map, cfg.batch_size, aggregation),
                                data, cfg, fp32_path, shape)
        else:
            measured = _measure(ClassifierEvaluation(wrapper, serving_tokenizer, test, label_map, cfg.batch_size),
                                data, cfg, fp32_path, shape)
        n_train_keys = _write_train_keys(data, tmp / TRAIN_KEYS_FILE)
        measured.drift.save(tmp)
        manifest = BundleManifest(
            task=task, max_length=max_length, inputs=names, labels=list(label_map.names), train_keys_file=TRAIN_KEYS_FILE,
            entity_types=entity_types_of(data) if per_token else [],
            variants={name: result.info for name, result in measured.variants.items()},
        )
        manifest.save(tmp)
        BundleManifest.load(tmp)  # the same check the server makes
        for result in measured.variants.values():
            if not result.info.published:  # keep the bundle small: unpublished files are not shipped
                (tmp / result.info.file).unlink(missing_ok=True)
        shutil.rmtree(tmp / ".cache", ignore_errors=True)
    log.info("serving bundle written to %s (%d training text keys for the gate's overlap check)", target, n_train_keys)
    return ExportReport(
        folder=Path(target), manifest=manifest, metric=measured.metric, torch_f1=measured.torch_f1,
        torch_samples_per_s=measured.torch_samples_per_s, n_test=len(test), parity=measured.parity,
        variants=measured.variants, drift=measured.drift,
    )


@dataclass(frozen=True)
class _Measured:
    metric: str
    parity: Parity
    torch_f1: float
    torch_samples_per_s: float
    variants: dict[str, VariantResult]
    drift: DriftReference


def _measure(
    evaluation: ExportEvaluation[R, Out], data: PreparedData, cfg: ExportConfig, fp32_path: Path, shape: dict[str, int]
) -> _Measured:
    """Parity gate on the fp32 graph, then build every variant next to it and measure it against PyTorch; the drift
    reference from the published ones."""
    metric, agreement = evaluation.metric, evaluation.agreement
    fp32 = evaluation.runtime(fp32_path, "fp32")
    n_parity = min(cfg.parity_samples, evaluation.n)
    parity = evaluation.compare(evaluation.run_torch(n_parity), evaluation.run_onnx(fp32, n_parity))
    check_parity(parity, atol=cfg.parity_atol, min_agreement=cfg.min_argmax_agreement)
    log.info("parity ok on %d test examples: max |diff| %.2g, agreement %.4f", parity.n, parity.max_abs_diff, parity.argmax_agreement)

    reference = evaluation.run_torch()
    torch_f1 = evaluation.f1(reference)
    results: dict[str, VariantResult] = {}
    runtimes: dict[str, R] = {}
    recipe = Int8Recipe(cfg.int8_smooth_alpha, tuple(cfg.int8_keep_fp32),
                        lambda: evaluation.feeds(calibration_texts(data, cfg.int8_calibration_samples)))
    for name in progress(["fp32", *cfg.variants], desc="export: building and scoring variants", unit="variant"):
        path = fp32_path if name == "fp32" else build_variant(name, fp32_path, fp32_path.parent, **shape, int8=recipe)
        runtime = fp32 if name == "fp32" else evaluation.runtime(path, name)
        evaluation.run_onnx(runtime, cfg.batch_size)  # warm-up, so speed excludes session start
        outputs = evaluation.run_onnx(runtime)
        f1 = evaluation.f1(outputs)
        variant_parity = evaluation.compare(reference, outputs)
        info = VariantInfo.model_validate({
            "file": path.name, "device": VARIANT_DEVICES[name], metric: f1, "f1_delta": f1 - torch_f1,
            "max_abs_diff": variant_parity.max_abs_diff, agreement: variant_parity.argmax_agreement,
        })
        speed = evaluation.n / outputs.seconds
        fp32_speed = results["fp32"].samples_per_s if name != "fp32" else speed
        reason = publish_reason(name, info, speed, fp32_speed, cfg, metric)
        if reason:
            info = info.model_copy(update={"published": False, "reason": reason})
        results[name] = VariantResult(name, info, variant_parity, speed)
        if info.published:
            runtimes[name] = runtime
        log.info("%s: %s %.4f (%+.4f), agreement %.4f, %.0f samples/s%s", name, metric, f1, f1 - torch_f1,
                 variant_parity.argmax_agreement, speed, f" -- not published: {reason}" if reason else "")
    drift = evaluation.drift(data, cfg.drift_samples, fp32_path.parent, runtimes)
    return _Measured(metric, parity, torch_f1, evaluation.n / reference.seconds, results, drift)


def calibration_texts(data: PreparedData, samples: int) -> list[str]:
    """A seeded sample of `samples` training texts (all if fewer) to calibrate int8: never test texts."""
    train = data.train
    if train.empty:
        raise ExportError("the training split is empty; int8 calibration needs training texts")
    return train.sample(n=min(samples, len(train)), random_state=0)["text"].astype(str).tolist()


def _write_train_keys(data: PreparedData, path: Path) -> int:
    """Write the training split's distinct text keys, sorted, one a line: the gate counts test texts this model saw."""
    keys = split_keys(data.train)  # what prepare writes to data/prepared/train_keys.txt
    path.write_text("".join(f"{k}\n" for k in keys), encoding="utf-8")
    return len(keys)
