"""The module that is exported: a sequence or token classifier returning its logits and the pooled embedding."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from ..bundle import BundleTask
from ..exceptions import ModelError

# the tokenizer outputs an exported graph may take, in graph-input order
GRAPH_INPUTS = ("input_ids", "attention_mask", "token_type_ids")


def graph_inputs(tokenizer) -> list[str]:
    """The graph inputs for this tokenizer: BERT takes token_type_ids, RoBERTa/DistilBERT do not."""
    names = [name for name in GRAPH_INPUTS if name in tokenizer.model_input_names]
    if names[:2] != ["input_ids", "attention_mask"]:
        raise ModelError(f"tokenizer gives {tokenizer.model_input_names}; export needs input_ids and attention_mask")
    return names


def model_task(model_dir: str | Path) -> BundleTask:
    """What a saved model folder holds: its sftops_model.json `task`, else what config.json's architectures say
    (a plain transformers folder), else classification."""
    from ..modeling import MODEL_INFO_FILE, TrainedModelInfo

    folder = Path(model_dir)
    if (folder / MODEL_INFO_FILE).is_file():
        return TrainedModelInfo.load(folder).task
    try:
        architectures = json.loads((folder / "config.json").read_text(encoding="utf-8")).get("architectures") or []
    except (OSError, ValueError) as exc:
        raise ModelError(f"{folder}: unreadable config.json ({exc}); rerun `sftops train`") from None
    return "token_classification" if any(str(a).endswith("ForTokenClassification") for a in architectures) else "classification"


def load_model(model_dir: str | Path, task: BundleTask | None = None):
    """The saved sequence or token classifier (`task`, default `model_task`) in eval mode, with eager attention so
    ORT's optimizer can fuse it."""
    from ..modeling import model_class_for

    task = task or model_task(model_dir)
    try:
        model = model_class_for(task).from_pretrained(str(model_dir), attn_implementation="eager")
    except (OSError, ValueError, KeyError, TypeError, RuntimeError) as exc:
        raise ModelError(f"{model_dir}: cannot load the trained {task} model ({exc}); rerun `sftops train`") from None
    return model.eval()


def with_embedding(model, input_names: Sequence[str]):
    """Wrap `model` so forward(*inputs) returns (logits, mean-pooled last hidden state over the mask).

    The logits are (B, K) for a sequence classifier, (B, T, K) for a token classifier."""
    import torch

    class LogitsAndEmbedding(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model
            self.input_names = list(input_names)

        def forward(self, *inputs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            kwargs = dict(zip(self.input_names, inputs))
            out = self.model(**kwargs, output_hidden_states=True)
            hidden = out.hidden_states[-1]
            mask = kwargs["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
            return out.logits, pooled

    return LogitsAndEmbedding().eval()
