"""How export measures a model on the test split and builds its drift reference, per task.

`ClassifierEvaluation`: one answer per text, macro-F1, argmax agreement per text. `TaggerEvaluation`:
one tag per word, entity F1 (seqeval, strict IOB2) on the prepared `tokens` / `tags`, tag agreement at
each word's first sub-token. Both run PyTorch on the very batches the ONNX runtime builds, so the
comparison is like with like, and both score every variant as `sftops.inference` serves it.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar

import numpy as np
import pandas as pd

from ..data.labels import LabelMap
from ..data.prepared import PreparedData
from ..drift.reference import DriftReference, build_reference, build_tagging_reference
from ..evaluation import classification_metrics, entity_metrics
from ..exceptions import ExportError
from ..inference import Aggregation, BundleTokenizer, ClassifierRuntime, Outputs, TaggerRuntime, TokenOutputs, sentence_tags
from ._parity import Parity, compare, compare_tokens
from ._runtime import onnx_outputs, tagger_outputs, tagger_runtime, torch_outputs, torch_token_outputs, variant_runtime

R = TypeVar("R", ClassifierRuntime, TaggerRuntime)
Out = TypeVar("Out", Outputs, TokenOutputs)


class ExportEvaluation(Protocol[R, Out]):
    """What export needs of a task: run PyTorch and an ONNX variant on the test split, compare, score, summarise."""

    metric: str  # the VariantInfo field of the test F1: macro_f1 or entity_f1
    agreement: str  # the VariantInfo field of the agreement with PyTorch: argmax_agreement or tag_agreement

    @property
    def n(self) -> int: ...
    def runtime(self, path: Path, name: str) -> R: ...
    def run_torch(self, n: int | None = None) -> Out: ...
    def run_onnx(self, runtime: R, n: int | None = None) -> Out: ...
    def compare(self, reference: Out, candidate: Out) -> Parity: ...
    def f1(self, outputs: Out) -> float: ...
    def drift(self, data: PreparedData, samples: int, folder: Path, runtimes: dict[str, R]) -> DriftReference: ...
    def feeds(self, texts: Sequence[str]) -> Iterator[dict[str, np.ndarray]]: ...


def _validation_sample(data: PreparedData, samples: int) -> pd.DataFrame:
    """The validation split (a seeded sample of `samples` if larger): texts the model did not train on.

    Not the training split: there the model is over-confident, so ordinary unseen traffic would look shifted."""
    split = data.validation
    if split.empty:
        raise ExportError("the validation split is empty; the drift reference needs texts the model did not train on")
    return split.sample(n=samples, random_state=0) if len(split) > samples else split


@dataclass
class _TestSplitEvaluation:
    """What both tasks' evaluations hold: the PyTorch wrapper, the bundle's tokenizer, the test split, its labels."""

    wrapper: Any
    tokenizer: BundleTokenizer
    test: pd.DataFrame
    label_map: LabelMap
    batch_size: int

    @property
    def n(self) -> int:
        return len(self.test)

    def feeds(self, texts: Sequence[str]) -> Iterator[dict[str, np.ndarray]]:
        """The padded int64 feeds the server would build for `texts` (calibration input for int8)."""
        for _, feed in self.tokenizer.feeds(self.tokenizer.encode(texts), self.wrapper.input_names, self.batch_size):
            yield feed


@dataclass
class ClassifierEvaluation(_TestSplitEvaluation):
    """A sequence classifier on the test texts."""

    metric: str = "macro_f1"
    agreement: str = "argmax_agreement"

    def _texts(self, n: int | None) -> list[str]:
        return self.test["text"].astype(str).tolist()[:n]

    def runtime(self, path: Path, name: str) -> ClassifierRuntime:
        return variant_runtime(path, self.tokenizer, list(self.label_map.names), name)

    def run_torch(self, n: int | None = None) -> Outputs:
        return torch_outputs(self.wrapper, self.tokenizer, self._texts(n), self.batch_size)

    def run_onnx(self, runtime: ClassifierRuntime, n: int | None = None) -> Outputs:
        return onnx_outputs(runtime, self._texts(n), self.batch_size)

    def compare(self, reference: Outputs, candidate: Outputs) -> Parity:
        return compare(reference, candidate)

    def f1(self, outputs: Outputs) -> float:
        y_true = self.test["label"].to_numpy(dtype=int)
        return float(classification_metrics(y_true, outputs.predictions, self.label_map)["macro_f1"])

    def drift(self, data: PreparedData, samples: int, folder: Path, runtimes: dict[str, ClassifierRuntime]) -> DriftReference:
        """Every published variant over the validation sample, summarised; token counts as the server counts them."""
        split = _validation_sample(data, samples)
        texts = split["text"].astype(str).tolist()
        outputs = {name: onnx_outputs(runtime, texts, self.batch_size) for name, runtime in runtimes.items()}
        return build_reference(
            token_ids=[e.ids for e in self.tokenizer.encode(texts).encodings],
            unk_token_id=self.tokenizer.unk_id,
            logits=outputs["fp32"].logits,
            true_labels=split["label"].to_numpy(dtype=int),
            embeddings={name: out.embedding for name, out in outputs.items() if out.embedding is not None},
            labels=runtimes["fp32"].labels,
            max_length=self.tokenizer.max_length,
            folder=folder,
            split="validation",
        )


@dataclass
class TaggerEvaluation(_TestSplitEvaluation):
    """A token classifier on the test sentences (prepared `tokens` and gold `tags`); words joined by `aggregation`."""

    aggregation: Aggregation = "first"
    metric: str = "entity_f1"
    agreement: str = "tag_agreement"

    def _sentences(self, n: int | None) -> list[list[str]]:
        return [list(tokens) for tokens in self.test["tokens"]][:n]

    def runtime(self, path: Path, name: str) -> TaggerRuntime:
        return tagger_runtime(path, self.tokenizer, list(self.label_map.names), name, self.aggregation)

    def run_torch(self, n: int | None = None) -> TokenOutputs:
        return torch_token_outputs(self.wrapper, self.tokenizer, self._sentences(n), self.batch_size)

    def run_onnx(self, runtime: TaggerRuntime, n: int | None = None) -> TokenOutputs:
        return tagger_outputs(runtime, self._sentences(n), self.batch_size)

    def compare(self, reference: TokenOutputs, candidate: TokenOutputs) -> Parity:
        return compare_tokens(reference, candidate)

    def tags(self, outputs: TokenOutputs) -> list[list[str]]:
        """Predicted IOB2 tags per word of the test sentences, as the server decodes them."""
        n_words = [len(tokens) for tokens in self.test["tokens"]][: len(outputs.logits)]
        return sentence_tags(outputs, n_words, list(self.label_map.names), self.aggregation)

    def f1(self, outputs: TokenOutputs) -> float:
        gold: Sequence[Sequence[str]] = [list(tags) for tags in self.test["tags"]][: len(outputs.logits)]
        return float(entity_metrics(gold, self.tags(outputs))["entity_f1"])

    def drift(self, data: PreparedData, samples: int, folder: Path, runtimes: dict[str, TaggerRuntime]) -> DriftReference:
        """Every published variant's served answers (`TaggerRuntime.predict`) on the validation sample's texts."""
        split = _validation_sample(data, samples)
        texts = split["text"].astype(str).tolist()
        tagged = {}
        for name, runtime in runtimes.items():
            answers = []
            for start in range(0, len(texts), self.batch_size):  # server-sized batches
                answers += runtime.predict(texts[start : start + self.batch_size])
            tagged[name] = answers
        return build_tagging_reference(
            tagged=tagged,
            true_tags=[list(tags) for tags in split["tags"]],
            labels=list(self.label_map.names),
            max_length=self.tokenizer.max_length,
            folder=folder,
            unk_token_id=self.tokenizer.unk_id,
            split="validation",
        )


def entity_types_of(data: PreparedData) -> list[str]:
    """The entity types a token-classification bundle names: meta.json's, else those of the tag names."""
    from ..tagging import entity_types

    return list(data.meta.get("entity_types") or entity_types(data.label_map.names))
