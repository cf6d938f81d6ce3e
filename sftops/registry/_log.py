"""Log the trained model (transformers flavor) and its serving bundle on one run, and register it as `challenger`.

A classifier logs as a "text-classification" pipeline (outputs label and score); a token classifier as a
"token-classification" pipeline grouping sub-tokens into words the way the server does (serve.aggregation),
whose MLflow pyfunc answers each text with its entity types, comma-separated. The entity spans with character
offsets are the serving bundle's answer (`serving/`, what `sftops serve` loads).
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
) -> ModelVersion:
    """One MLflow run holds the model and `serving/`; the new version points at that run and gets alias `challenger`.

    `task` picks the transformers pipeline; a token classifier's groups sub-tokens by `aggregation`."""
    import mlflow
    from transformers import Pipeline, pipeline

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
            mlflow.log_artifacts(str(bundle_dir), BUNDLE_ARTIFACT_PATH)
            mlflow.log_artifact(str(model_dir / LABEL_MAP_FILE))
        version = mlflow.register_model(info.model_uri, name, tags={**version_tags, "sftops.run_id": run.info.run_id})
        client.set_registered_model_alias(name, CHALLENGER, version.version)
    return client.get_model_version(name, version.version)
