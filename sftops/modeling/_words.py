"""Words to sub-tokens: the tokenizer call for word lists, each word's first sub-token, the words truncation cut.

Training (label alignment), evaluation and export all read word positions from here, so a word
the model never saw is treated the same way everywhere: no label, predicted "O".
"""

from __future__ import annotations

from collections.abc import Sequence

from ..exceptions import ModelError


def encode_words(tokenizer, sentences: Sequence[Sequence[str]], max_length: int):
    """`tokenizer` over pre-split words (truncated to `max_length`, not padded); its `word_ids(i)` map pieces to words.

    Raises:
        ModelError: the tokenizer is a slow (Python) one, which cannot map sub-tokens back to words, or it refuses
            pre-split words (a byte-level BPE tokenizer saved without add_prefix_space)."""
    if not getattr(tokenizer, "is_fast", False):
        raise ModelError(f"{type(tokenizer).__name__} is a slow tokenizer; token classification needs a fast one "
                         "(a model folder with tokenizer.json)")
    words = [[str(w) for w in sentence] for sentence in sentences]
    try:
        return tokenizer(words, is_split_into_words=True, truncation=True, max_length=max_length)
    except ValueError as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ModelError(f"{type(tokenizer).__name__} cannot tokenize pre-split words ({reason}); "
                         "token classification needs a base model whose tokenizer accepts them") from None


def first_subtokens(word_ids: Sequence[int | None], n_words: int) -> list[int | None]:
    """The position of each word's first sub-token; None for a word without one (cut by truncation or no pieces)."""
    first: list[int | None] = [None] * n_words
    for position, word in enumerate(word_ids):
        if word is not None and first[word] is None:
            first[word] = position
    return first


def kept_words(word_ids: Sequence[int | None], n_words: int, max_length: int) -> int:
    """How many leading words survived truncation (`n_words` when the sentence fit in `max_length`)."""
    if len(word_ids) < max_length:
        return n_words
    seen = [w for w in word_ids if w is not None]
    return min(n_words, max(seen) + 1) if seen else 0


def entities_cut(word_ids: Sequence[int | None], tags: Sequence[str], max_length: int) -> tuple[int, int]:
    """(entities, entities with a word that truncation cut) of one sentence's IOB2 `tags`, given its encoding."""
    from ..tagging import spans_of

    kept = kept_words(word_ids, len(tags), max_length)
    spans = spans_of(tags)
    return len(spans), sum(1 for span in spans if span.end > kept)


def count_truncated_entities(tokenizer, sentences: Sequence[Sequence[str]], tags: Sequence[Sequence[str]],
                             max_length: int) -> tuple[int, int]:
    """(entities, entities truncation at `max_length` cuts) over sentences of words and their IOB2 tags."""
    encoded = encode_words(tokenizer, sentences, max_length)
    counts = [entities_cut(encoded.word_ids(i), sentence_tags, max_length) for i, sentence_tags in enumerate(tags)]
    return sum(total for total, _ in counts), sum(cut for _, cut in counts)
