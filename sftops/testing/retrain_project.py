"""A scratch project for `sftops retrain` whose "pipeline" is a small script, so a retrain takes seconds.

Real processes, the real lock and a real MLflow store; only `dvc repro` is replaced. The script
counts its runs in pipeline_runs.txt, writes its pid to pipeline.pid, sleeps, then either fails
(exit 3) or writes models/registration.json with the decision asked for.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import yaml

from ..feedback import EntityLabel, FeedbackStore, entities_label

PIPELINE = """
import json, os, pathlib, sys, time
count = pathlib.Path("pipeline_runs.txt")
count.write_text((count.read_text() if count.exists() else "") + "run\\n")
pathlib.Path("pipeline.pid").write_text(str(os.getpid()))
time.sleep(float(sys.argv[1]))
if sys.argv[2] == "fail":
    print("train: CUDA out of memory (simulated)")
    sys.exit(3)
pathlib.Path("models").mkdir(exist_ok=True)
pathlib.Path("models/registration.json").write_text(json.dumps({
    "name": "m", "version": "7", "run_id": "abc", "decision": sys.argv[2], "reason": "test",
    "champion": "6", "metric": "macro_f1", "scores": {"challenger": 0.7, "champion": 0.6}}))
"""


def make_retrain_project(root: Path, *, sleep: float = 0.0, decision: str = "promoted", min_feedback: int | None = 3,
                         feedback: int = 4, retrain: dict[str, Any] | None = None, ner: bool = False) -> Path:
    """params.yaml (returned) + pipeline.py + `feedback` stored labels in `root`; `retrain` overrides drift.retrain.

    With `ner`, the project is a token-classification one (JSON Lines feedback file) and each stored
    feedback row is a text with its entities, as /v1/feedback stores an NER model's.
    """
    (root / "pipeline.py").write_text(PIPELINE)
    suffix = "jsonl" if ner else "csv"
    params: dict[str, Any] = {
        "data": {"extra_sources": [f"data/feedback/*.{suffix}"]},
        "serve": {"feedback_db": "feedback/feedback.db"},
        "drift": {"retrain": {"command": [sys.executable, "pipeline.py", str(sleep), decision],
                              "feedback_file": f"data/feedback/feedback.{suffix}",
                              "min_feedback": min_feedback, "cooldown_s": 3600, **(retrain or {})}},
    }
    if ner:
        params["task"] = "token_classification"
    (root / "params.yaml").write_text(yaml.safe_dump(params))
    store = FeedbackStore(root / "feedback/feedback.db")
    for i in range(feedback):
        if ner:  # "Ada went to Paris <i>": Ada a person, Paris a place
            store.add(f"Ada went to Paris {i}", entities_label([EntityLabel(0, 3, "PER"), EntityLabel(12, 17, "LOC")]))
        else:
            store.add(f"feedback text {i}", ["positive", "negative", "neutral"][i % 3])
    store.close()
    return root / "params.yaml"


def retrain_runs() -> list:
    """The retrain runs in the MLflow store of $MLFLOW_TRACKING_URI (the test's own store)."""
    from mlflow import MlflowClient

    client = MlflowClient(os.environ["MLFLOW_TRACKING_URI"])
    experiments = [e.experiment_id for e in client.search_experiments()]
    return client.search_runs(experiments, "tags.`sftops.kind` = 'retrain'")

