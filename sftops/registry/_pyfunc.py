"""The registered version's MLflow model: a pyfunc running the ONNX serving bundle through `sftops.inference`.

`mlflow models serve -m models:/NAME@champion`, `mlflow.pyfunc.load_model` in a batch job and
`mlflow.pyfunc.spark_udf` all load this class: onnxruntime, tokenizers, numpy and pandas, never torch or
transformers (a PythonModel rather than the onnx flavor: the bundle's tokenizer, label names, variant choice
and entity grouping come with it, so a caller sends texts, not token ids). The bundle travels as the model's
artifact `bundle`; the model is logged from code (pyfunc_model.py, nothing pickled), so `sftops` must be
importable where it loads, and the variant and aggregation come in as its model_config.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlflow.pyfunc import PythonModel, PythonModelContext

if TYPE_CHECKING:
    import pandas as pd
    from mlflow.models import ModelSignature

BUNDLE_ARTIFACT = "bundle"  # the pyfunc's artifact key and folder: a copy of the serving bundle
ONNX_MODEL_NAME = "onnx"  # the logged model's name in the run (`models:/NAME@champion` points at it)
MODEL_CODE = Path(__file__).with_name("pyfunc_model.py")  # the models-from-code file MLflow copies and runs


class OnnxBundleModel(PythonModel):
    """Texts in; per text `label` and `score` (classification) or `entities` (token classification), from ONNX Runtime.

    Runs the bundle's CPU serving variant (model_config `variant`, else the bundle's first CPU one) as
    `sftops serve --device cpu` would, grouping a tagger's sub-tokens by model_config `aggregation`."""

    _runtime: Any = None

    def load_context(self, context: PythonModelContext) -> None:
        from ..inference import load_runtime

        config = context.model_config or {}
        self._runtime = load_runtime(context.artifacts[BUNDLE_ARTIFACT], device="cpu", variant=config.get("variant"),
                                     aggregation=config.get("aggregation", "first"))

    def predict(self, context: Any, model_input: Any, params: dict[str, Any] | None = None) -> pd.DataFrame:
        import pandas as pd

        texts = _texts(model_input)
        answers = self._runtime.predict(texts)
        if self._runtime.task == "token_classification":
            return pd.DataFrame({"entities": [
                [{"text": e.text, "type": e.type, "start": e.start, "end": e.end, "score": e.score} for e in a.entities]
                for a in answers
            ]})
        return pd.DataFrame({"label": [a.label for a in answers], "score": [a.score for a in answers]})


def _texts(model_input: Any) -> list[str]:
    """The texts of a pyfunc input: a DataFrame (its first column), a Series, a list or array of strings, or one string."""
    import pandas as pd

    if isinstance(model_input, pd.DataFrame):
        if model_input.shape[1] != 1:
            raise ValueError(f"expected one column of texts, got columns {list(model_input.columns)}")
        model_input = model_input.iloc[:, 0]
    if isinstance(model_input, str):
        return [model_input]
    values: Sequence[Any] = list(model_input)
    bad = [type(v).__name__ for v in values if not isinstance(v, str)]
    if bad:
        raise ValueError(f"expected texts (strings), got {sorted(set(bad))}")
    return list(values)


def onnx_signature(task: str) -> ModelSignature:
    """Texts in; a label and score per text, or (token classification) its entities with character offsets."""
    from mlflow.models import ModelSignature
    from mlflow.types import ColSpec, Schema
    from mlflow.types.schema import Array, Object, Property

    if task == "token_classification":
        entity = Object([Property("text", "string"), Property("type", "string"), Property("start", "long"),
                         Property("end", "long"), Property("score", "double")])
        outputs = Schema([ColSpec(Array(entity), "entities")])
    else:
        outputs = Schema([ColSpec("string", "label"), ColSpec("double", "score")])
    return ModelSignature(inputs=Schema([ColSpec("string")]), outputs=outputs)


def onnx_requirements() -> list[str]:
    """What the pyfunc imports, pinned to this environment's versions (no torch, no transformers)."""
    from importlib.metadata import PackageNotFoundError, version

    pinned = []
    for package in ("onnxruntime", "tokenizers", "numpy", "pandas", "pydantic"):
        try:
            pinned.append(f"{package}=={version(package)}")
        except PackageNotFoundError:  # onnxruntime-gpu, or a build under another name: leave it unpinned
            pinned.append(package)
    return pinned
