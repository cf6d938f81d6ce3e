"""Save the tokenizer so the server can use `tokenizers.Tokenizer.from_file` alone, without transformers."""

from __future__ import annotations

from pathlib import Path

from ..exceptions import ExportError

TOKENIZER_FILE = "tokenizer.json"


def save_serving_tokenizer(tokenizer, folder: Path, *, max_length: int) -> Path:
    """save_pretrained into `folder`, then set tokenizer.json to truncate at `max_length` and pad to the batch's longest.

    transformers writes whatever padding/truncation it last used (often pad-to-128),
    which would make a server pad every text to a fixed length.
    """
    from tokenizers import Tokenizer

    tokenizer.save_pretrained(str(folder))
    path = folder / TOKENIZER_FILE
    if not path.is_file():
        raise ExportError(
            f"the tokenizer of this model has no {TOKENIZER_FILE} (a slow, Python-only tokenizer); "
            "the server needs a fast tokenizer: re-save the base model with a fast tokenizer"
        )
    fast = Tokenizer.from_file(str(path))
    fast.enable_truncation(max_length=max_length)
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    fast.enable_padding(pad_id=pad_id, pad_token=tokenizer.pad_token or "[PAD]")
    fast.save(str(path))
    return path
