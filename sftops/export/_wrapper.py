"""The module that is exported: a sequence classifier returning its logits and the pooled embedding."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ..exceptions import ModelError

# the tokenizer outputs an exported graph may take, in graph-input order
GRAPH_INPUTS = ("input_ids", "attention_mask", "token_type_ids")


def graph_inputs(tokenizer) -> list[str]:
    """The graph inputs for this tokenizer: BERT takes token_type_ids, RoBERTa/DistilBERT do not."""
    names = [name for name in GRAPH_INPUTS if name in tokenizer.model_input_names]
    if names[:2] != ["input_ids", "attention_mask"]:
        raise ModelError(f"tokenizer gives {tokenizer.model_input_names}; export needs input_ids and attention_mask")
    return names


def load_classifier(model_dir: str | Path):
    """The saved classifier in eval mode, with eager attention so ORT's optimizer can fuse it."""
    from transformers import AutoModelForSequenceClassification

    try:
        model = AutoModelForSequenceClassification.from_pretrained(str(model_dir), attn_implementation="eager")
    except (OSError, ValueError, KeyError, TypeError, RuntimeError) as exc:
        raise ModelError(f"{model_dir}: cannot load the trained classifier ({exc}); rerun `sftops train`") from None
    return model.eval()


def with_embedding(model, input_names: Sequence[str]):
    """Wrap `model` so forward(*inputs) returns (logits, mean-pooled last hidden state over the mask)."""
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
