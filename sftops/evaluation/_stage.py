"""The evaluate stage: test-split metrics of the fine-tuned model and its baselines, to files and MLflow.

What is scored depends on params.task (_classifier_eval, _tagger_eval); writing metrics/eval.json, the
confusion CSV for `dvc plots`, the figures and the MLflow run is the same for both.
"""

from __future__ import annotations

import csv
import logging
import tempfile
from pathlib import Path
from typing import Any

import mlflow

from ..atomic import atomic_path, write_json
from ..config import Params
from ..data.prepared import PreparedData
from ..exceptions import ModelError
from ..modeling import TrainedModelInfo, check_model_dir
from ..paths import CONFUSION_FILE, CURVE_FILE, EVAL_FILE, MODEL_DIR
from ..tracking import flat_params, lineage_tags, log_splits
from ._classifier_eval import evaluate_classifier
from ._tagger_eval import evaluate_tagger

log = logging.getLogger(__name__)


def _write_confusion(rows: list[dict[str, str]], path: Path) -> None:
    with atomic_path(path) as tmp, tmp.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=["actual", "predicted"])
        writer.writeheader()
        writer.writerows(rows)


def run_evaluate(
    params: Params,
    data: PreparedData,
    *,
    model_dir: str | Path = MODEL_DIR,
    eval_file: str | Path = EVAL_FILE,
    confusion_file: str | Path = CONFUSION_FILE,
    curve_file: str | Path | None = CURVE_FILE,
) -> dict[str, Any]:
    """Score the saved model and its baselines on the test split; write and log it all.

    Classification: the untuned base model and TF-IDF + LogReg, by accuracy and macro-F1. Token
    classification: the untuned base model and a CRF, by entity precision / recall / F1 (per type too)
    and token accuracy, with the fine-tuned model's improvement over each on registry.primary_metric.
    Logs to the MLflow experiment the caller connected to (`sftops.stages.evaluate` connects).

    Raises:
        DataError: the data was prepared for another task than params.task.
        ModelError: `model_dir` holds no trained model or one of another task, or the base model cannot be loaded."""
    data.check_task(params.task)
    model_dir = check_model_dir(model_dir)
    info = TrainedModelInfo.load(model_dir)
    if info.task != params.task:
        raise ModelError(f"{model_dir} holds a {info.task} model but params.task is {params.task}; "
                         "retrain with `sftops train` (or set task back)")
    scorer = evaluate_tagger if params.task == "token_classification" else evaluate_classifier
    evaluation = scorer(params, data, model_dir, info)
    summary = {**evaluation.summary, "model_train_run_id": info.train_run_id}

    tags = {**lineage_tags(params), "sftops.stage": "evaluate"}
    if info.train_run_id:
        tags["sftops.train_run_id"] = info.train_run_id
    with mlflow.start_run(run_name="evaluate", tags=tags) as run:
        mlflow.log_params(flat_params(params, ("data", "model")))
        log_splits(run.info.run_id, data, ("train", "test"))  # baselines fit on train; everything scored on test
        mlflow.log_metrics(evaluation.metrics)
        write_json(eval_file, {**summary, "run_id": run.info.run_id})
        _write_confusion(evaluation.confusion_rows, Path(confusion_file))
        with tempfile.TemporaryDirectory() as tmp:
            evaluation.figures(Path(tmp))
            mlflow.log_artifacts(tmp, "evaluation")
        mlflow.log_artifact(str(eval_file), "evaluation")
        mlflow.log_artifact(str(confusion_file), "plots")
        if curve_file is not None and Path(curve_file).is_file():
            mlflow.log_artifact(str(curve_file), "plots")
    log.info("%s -> %s (MLflow run %s)", evaluation.headline, eval_file, run.info.run_id)
    return {**summary, "run_id": run.info.run_id}
