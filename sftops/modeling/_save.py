"""Save a trained classifier as a plain Hugging Face folder (LoRA merged), atomically."""

from __future__ import annotations

from pathlib import Path

from ..atomic import atomic_path
from ..data.labels import LabelMap
from ..paths import LABEL_MAP_FILE
from ._info import TrainedModelInfo


def save_model(model, tokenizer, label_map: LabelMap, info: TrainedModelInfo, target: str | Path) -> Path:
    """Write safetensors + config, tokenizer, label_map.json and sftops_model.json to `target` in one rename."""
    from peft import PeftModel

    if isinstance(model, PeftModel):
        model = model.merge_and_unload()
    with atomic_path(target) as tmp:
        model.save_pretrained(tmp, safe_serialization=True)
        tokenizer.save_pretrained(tmp)
        label_map.save(tmp / LABEL_MAP_FILE)
        info.save(tmp)
    return Path(target)
