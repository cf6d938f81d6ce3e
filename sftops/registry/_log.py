"""Log the trained model, its ONNX pyfunc and its serving bundle on one run, and register the pyfunc as `challenger`.

The registered version points at the ONNX pyfunc (`onnx`, sftops.registry._pyfunc): `models:/NAME@champion`
then serves with onnxruntime and tokenizers alone (`mlflow models serve`, `mlflow.pyfunc.load_model`,
`spark_udf`), answering as `sftops serve` does, entity spans with character offsets included. The
transformers flavor (`model`) stays in the run for users who want the PyTorch pipeline: a classifier as a
"text-classification" pipeline, a token classifier as a "token-classification" one grouping sub-tokens into
words the way the server does (serve.aggregation). `serving/` holds the bundle `sftops serve` and the gate read.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from ..bundle import BUNDLE_ARTIFACT_PATH
from ..paths import LABEL_MAP_FILE
from ._client import CHALLENGER, registry_errors

if TYPE_CHECKING:
    from mlflow import MlflowClient
    from mlflow.entities.model_registry import ModelVersion

MODEL_ARTIFACT_NAME = "model"


PIPELINE_TASKS = {"classification": "text-classification", "token_classification": "token-classification"}


def _signature(task: str):
    """Texts in; per text a label and score, or (token classification) the entity types found, comma-separated."""
    from mlflow.models import ModelSignature
    from mlflow.types import ColSpec, Schema

    if task == "token_classification":
        return ModelSignature(inputs=Schema([ColSpec("string")]), outputs=Schema([ColSpec("string", "entities")]))
    return ModelSignature(
        inputs=Schema([ColSpec("string")]),
        outputs=Schema([ColSpec("string", "label"), ColSpec("double", "score")]),
    )


def _requirements() -> list[str]:
    import tokenizers
    import torch
    import transformers

    return [
        f"transformers=={transformers.__version__}",
        f"torch=={torch.__version__.split('+')[0]}",
        f"tokenizers=={tokenizers.__version__}",
    ]


def log_and_register(
    client: MlflowClient,
    name: str,
    model_dir: Path,
    bundle_dir: Path,
    *,
    examples: Sequence[str],
    run_tags: Mapping[str, str],
    version_tags: Mapping[str, str],
    metrics: Mapping[str, float],
    params: Mapping[str, object],
    task: str = "classification",
    aggregation: str = "first",
    variant: str | None = None,
) -> ModelVersion:
    """One MLflow run holds both models and `serving/`; the new version is its ONNX pyfunc, with alias `challenger`.

    `task` picks the transformers pipeline; a token classifier's groups sub-tokens by `aggregation`. The pyfunc
    runs bundle variant `variant` (None: the bundle's first CPU serving variant)."""
    import mlflow
    from transformers import Pipeline, pipeline

    from ._pyfunc import BUNDLE_ARTIFACT, MODEL_CODE, ONNX_MODEL_NAME, onnx_requirements, onnx_signature

    # nothing may download at run time; without this MLflow asks the Hub for a model card
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    label_map = json.loads((model_dir / LABEL_MAP_FILE).read_text(encoding="utf-8"))
    # not "task": MLflow reads metadata["task"] as its own (LLM inference) task type
    metadata: dict[str, object] = {"label_map": label_map, "sftops_task": task}
    model: Pipeline
    call_options: dict[str, object] | None = None  # what the pyfunc passes the pipeline on every call
    if task == "token_classification":
        from ..tagging import entity_types

        model = pipeline("token-classification", model=str(model_dir), tokenizer=str(model_dir), device="cpu",
                         aggregation_strategy=aggregation)
        metadata.update(entity_types=entity_types(label_map), aggregation=aggregation)
        call_options = {"aggregation_strategy": aggregation}
    else:
        model = pipeline("text-classification", model=str(model_dir), tokenizer=str(model_dir), device="cpu")
    with registry_errors(f"log and register {name!r}"):
        with mlflow.start_run(run_name=f"register-{name}", tags=dict(run_tags)) as run:
            mlflow.log_params(dict(params))
            mlflow.log_metrics(dict(metrics))
            info = mlflow.transformers.log_model(
                model,
                name=MODEL_ARTIFACT_NAME,
                task=PIPELINE_TASKS[task],
                signature=_signature(task),
                input_example=list(examples),
                pip_requirements=_requirements(),
                metadata=metadata,
                model_config=call_options,
            )
            onnx = mlflow.pyfunc.log_model(
                name=ONNX_MODEL_NAME,
                python_model=MODEL_CODE,
                model_config={"variant": variant, "aggregation": aggregation},
                artifacts={BUNDLE_ARTIFACT: str(bundle_dir)},
                signature=onnx_signature(task),
                input_example=list(examples),
                pip_requirements=onnx_requirements(),
                metadata=metadata,
            )
            mlflow.log_artifacts(str(bundle_dir), BUNDLE_ARTIFACT_PATH)
            mlflow.log_artifact(str(model_dir / LABEL_MAP_FILE))
        tags = {**version_tags, "sftops.run_id": run.info.run_id, "sftops.transformers_model_uri": info.model_uri}
        version = mlflow.register_model(onnx.model_uri, name, tags=tags)
        client.set_registered_model_alias(name, CHALLENGER, version.version)
    return client.get_model_version(name, version.version)
