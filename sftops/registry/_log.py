"""Log the trained model (transformers flavor) and its serving bundle on one run, and register it as `challenger`."""

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


def _signature():
    from mlflow.models import ModelSignature
    from mlflow.types import ColSpec, Schema

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
) -> ModelVersion:
    """One MLflow run holds the model and `serving/`; the new version points at that run and gets alias `challenger`."""
    import mlflow
    from transformers import pipeline

    # nothing may download at run time; without this MLflow asks the Hub for a model card
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    label_map = json.loads((model_dir / LABEL_MAP_FILE).read_text(encoding="utf-8"))
    classifier = pipeline("text-classification", model=str(model_dir), tokenizer=str(model_dir), device="cpu")
    with registry_errors(f"log and register {name!r}"):
        with mlflow.start_run(run_name=f"register-{name}", tags=dict(run_tags)) as run:
            mlflow.log_params(dict(params))
            mlflow.log_metrics(dict(metrics))
            info = mlflow.transformers.log_model(
                classifier,
                name=MODEL_ARTIFACT_NAME,
                task="text-classification",
                signature=_signature(),
                input_example=list(examples),
                pip_requirements=_requirements(),
                metadata={"label_map": label_map},
            )
            mlflow.log_artifacts(str(bundle_dir), BUNDLE_ARTIFACT_PATH)
            mlflow.log_artifact(str(model_dir / LABEL_MAP_FILE))
        version = mlflow.register_model(info.model_uri, name, tags={**version_tags, "sftops.run_id": run.info.run_id})
        client.set_registered_model_alias(name, CHALLENGER, version.version)
    return client.get_model_version(name, version.version)
