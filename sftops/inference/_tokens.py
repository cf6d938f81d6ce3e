"""A bundle's tokenizer as every caller uses it: truncate at max_length, one pad-id rule, length buckets, padded feeds.

The server, the promotion gate, export's variant evaluation (and its PyTorch side) and the drift reference
all build their model inputs here, so a text is padded and batched the same way wherever it is scored.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tokenizers import Encoding, Tokenizer

from ..exceptions import InferenceError
from ..tagging import Word, split_words

TOKENIZER_CONFIG_FILE = "tokenizer_config.json"
# model inputs the tokenizer can fill, and the Encoding attribute each comes from
FED_INPUTS = {"input_ids": "ids", "attention_mask": None, "token_type_ids": "type_ids"}  # None: 1 per real token


def plan_buckets(lengths: Sequence[int], split_tokens: int = 32, min_bucket: int = 2) -> list[list[int]]:
    """Group indices by token length so little compute goes to padding.

    Sorted by length; a new group starts when the next text would add more than
    `split_tokens` pad tokens to the current group (of at least `min_bucket`): one
    more ONNX Runtime call costs about as much as a few dozen tokens on CPU.
    """
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    buckets: list[list[int]] = []
    current: list[int] = []
    for i in order:
        if current and len(current) >= min_bucket and len(current) * (lengths[i] - lengths[current[-1]]) > split_tokens:
            buckets.append(current)
            current = []
        current.append(i)
    if current:
        buckets.append(current)
    return buckets


def plan_batches(lengths: Sequence[int], batch_size: int | None = None) -> list[list[int]]:
    """Model calls for texts of these lengths: length-sorted chunks of at most `batch_size`, each split by `plan_buckets`.

    With `batch_size` None (a server's request batch, already bounded) the texts form one chunk.
    """
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    size = batch_size or max(len(order), 1)
    batches: list[list[int]] = []
    for start in range(0, len(order), size):
        chunk = order[start : start + size]
        batches += [[chunk[j] for j in bucket] for bucket in plan_buckets([lengths[i] for i in chunk])]
    return batches


def pad_id(tokenizer: Tokenizer, pad_token: str | None = None) -> int:
    """The id batches are padded with: tokenizer.json's padding pad_id, else `pad_token`'s id
    (tokenizer_config.json's pad_token), else `[PAD]`'s id, else 0."""
    if tokenizer.padding:  # export writes the model's pad id here
        return int(tokenizer.padding["pad_id"])
    for token in (pad_token, "[PAD]"):
        token_id = tokenizer.token_to_id(token) if token else None
        if token_id is not None:
            return int(token_id)
    return 0


def _config_pad_token(folder: Path) -> str | None:
    """pad_token of the folder's tokenizer_config.json (transformers' own record), or None when it names none."""
    path = folder / TOKENIZER_CONFIG_FILE
    if not path.is_file():
        return None
    try:
        token = json.loads(path.read_text(encoding="utf-8")).get("pad_token")
    except (OSError, ValueError, AttributeError) as exc:
        raise InferenceError(f"{path}: unreadable tokenizer config ({exc}); re-export the bundle") from None
    if isinstance(token, dict):  # older transformers save an AddedToken as {"content": ...}
        token = token.get("content")
    return token if isinstance(token, str) else None


def word_tokens(encoding: Encoding, n_words: int) -> list[list[int]]:
    """The token positions of each of the `n_words` words in an `encode_words` encoding, in order.

    A word gets [] when truncation cut any of its tokens (it is not fully read) or when it has no tokens
    at all (a word of characters the tokenizer's normalizer drops, such as a lone zero-width space).
    """
    positions: list[list[int]] = [[] for _ in range(n_words)]
    for i, word in enumerate(encoding.word_ids):
        if word is not None:
            positions[word].append(i)
    if encoding.overflowing:  # stride 0: the first overflowing token follows the last kept one
        cut = next((w for w in encoding.overflowing[0].word_ids if w is not None), None)
        if cut is not None:
            positions[cut] = []
    return positions


@dataclass(frozen=True)
class Encoded:
    """Texts as the model reads them, in input order: encodings (truncated, unpadded) and the counts the monitor needs."""

    encodings: list[Encoding]
    n_tokens: np.ndarray  # tokens per text after truncation, special tokens in
    truncated: np.ndarray  # bool: the text was cut at max_length
    n_unknown: np.ndarray  # unknown-token ids per text


class BundleTokenizer:
    """A serving bundle's fast tokenizer: truncating at `max_length`, padding per batch with the one pad-id rule."""

    def __init__(self, tokenizer: Tokenizer, max_length: int, pad_token: str | None = None) -> None:
        self.max_length = max_length
        self.pad_id = pad_id(tokenizer, pad_token)
        self._tokenizer = Tokenizer.from_str(tokenizer.to_str())
        self._tokenizer.no_padding()  # padding is per batch, below
        self._tokenizer.enable_truncation(max_length)
        self._counter = Tokenizer.from_str(tokenizer.to_str())
        self._counter.no_padding()
        self._counter.no_truncation()
        unk_token = getattr(tokenizer.model, "unk_token", None)
        self.unk_id: int | None = tokenizer.token_to_id(unk_token) if unk_token else None

    @classmethod
    def from_folder(cls, folder: str | Path, max_length: int, tokenizer_file: str = "tokenizer.json") -> BundleTokenizer:
        """The tokenizer of a bundle folder (its tokenizer.json and, for the pad token, tokenizer_config.json)."""
        folder = Path(folder)
        try:
            tokenizer = Tokenizer.from_file(str(folder / tokenizer_file))
        except Exception as exc:  # the tokenizers library raises plain Exception for unreadable or malformed files
            raise InferenceError(f"{folder / tokenizer_file}: cannot load the tokenizer ({exc}); re-export the bundle") from None
        return cls(tokenizer, max_length, _config_pad_token(folder))

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Token counts before truncation (for rejecting over-long texts)."""
        return [len(e.ids) for e in self._counter.encode_batch(list(texts))]

    def count_word_tokens(self, texts: Sequence[str]) -> list[int]:
        """Token counts before truncation of `texts` read as words (`encode_texts_as_words`), for rejecting over-long texts."""
        sentences = [[w.text for w in split_words(str(t))] for t in texts]
        return [len(e.ids) for e in self._counter.encode_batch(sentences, is_pretokenized=True)]

    def encode(self, texts: Sequence[str]) -> Encoded:
        """Tokenize `texts` (truncated at max_length, unpadded) and count tokens, truncations and unknown tokens."""
        return self._counted(self._tokenizer.encode_batch([str(t) for t in texts]))

    def encode_words(self, sentences: Sequence[Sequence[str]]) -> Encoded:
        """Tokenize pre-split sentences (one list of words each; no word holds whitespace) as `encode` does texts.

        The tokenizer sees word boundaries (`is_pretokenized`), so each encoding's `word_ids` map tokens to words
        and its `offsets` are character offsets inside each word.
        """
        return self._counted(self._tokenizer.encode_batch([list(words) for words in sentences], is_pretokenized=True))

    def encode_texts_as_words(self, texts: Sequence[str]) -> tuple[Encoded, list[list[Word]]]:
        """`encode_words` of each text's `sftops.tagging.split_words`, and those words (with offsets into the text)."""
        words = [split_words(str(t)) for t in texts]
        return self.encode_words([[w.text for w in ws] for ws in words]), words

    def _counted(self, encodings: list[Encoding]) -> Encoded:
        unk = self.unk_id
        return Encoded(
            encodings=encodings,
            n_tokens=np.array([len(e.ids) for e in encodings], dtype=np.int64),
            truncated=np.array([bool(e.overflowing) for e in encodings], dtype=bool),
            n_unknown=np.array([0 if unk is None else e.ids.count(unk) for e in encodings], dtype=np.int64),
        )

    def feeds(
        self, encoded: Encoded, input_names: Sequence[str], batch_size: int | None = None
    ) -> Iterator[tuple[list[int], dict[str, np.ndarray]]]:
        """(row indices, int64 feed) per model call: `plan_batches` of the texts, right-padded to each batch's longest."""
        unknown = sorted(set(input_names) - set(FED_INPUTS))
        if unknown:
            raise InferenceError(f"ONNX model wants inputs {unknown}; only input_ids, attention_mask, token_type_ids are fed")
        lengths = encoded.n_tokens.tolist()
        for rows in plan_batches(lengths, batch_size):
            width = max(lengths[i] for i in rows)
            feed = {}
            for name in input_names:
                fill = self.pad_id if name == "input_ids" else 0
                array = np.full((len(rows), width), fill, dtype=np.int64)
                attr = FED_INPUTS[name]
                for row, i in enumerate(rows):
                    array[row, : lengths[i]] = 1 if attr is None else getattr(encoded.encodings[i], attr)
                feed[name] = array
            yield rows, feed
