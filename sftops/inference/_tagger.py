"""The token-classification runtime: a text in, its entities out, with character offsets into the text as sent.

A text is split into words exactly as prepare joined them (`sftops.tagging.split_words`: runs of
non-whitespace), the words go to the tokenizer pre-split, so its `word_ids` say which sub-tokens make
each word and its offsets (relative to each word) say where they sit. Per word, the sub-token
probabilities are joined by the aggregation (serve.aggregation):

- first:   the first sub-token's probabilities (the sub-token training labels);
- average: the mean of the word's sub-token probabilities;
- max:     the probabilities of the sub-token most sure of its own top tag.

Word tags are repaired to IOB2 (a stray I-X starts an entity, as conlleval counts it) and decoded
into spans of whole words. A word that truncation cut (any of its sub-tokens) is tagged O.
Only numpy, onnxruntime and tokenizers: the server imports this.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import onnxruntime as ort

from ..exceptions import InferenceError
from ..tagging import OUTSIDE, Word, entity_types, repair_iob2, spans_of
from ._math import softmax
from ._model import OnnxModel
from ._tokens import BundleTokenizer, Encoded, word_tokens

Aggregation = Literal["first", "average", "max"]
AGGREGATIONS: tuple[Aggregation, ...] = ("first", "average", "max")


@dataclass(frozen=True)
class Entity:
    """One entity found in a text: `text` is `original[start:end]` (character offsets, end exclusive).

    `score` is the mean over the entity's words of the probability of each word's chosen tag."""

    text: str
    type: str
    start: int
    end: int
    score: float


@dataclass(frozen=True)
class TaggedText:
    """One text's answer: its entities, whether the model read all of it, and what the drift monitor counts.

    `confidence` is the mean over the words the model read of the chosen tag's probability (1.0 with no words);
    `n_tokens` (special tokens in, after truncation) and `n_unknown` count as for `Prediction`."""

    entities: list[Entity]
    truncated: bool
    embedding: np.ndarray | None
    n_tokens: int
    n_unknown: int
    confidence: float


@dataclass(frozen=True)
class TokenOutputs:
    """A tagger's answers for N sentences in input order: per-sentence token logits (n_tokens_i, K) over the
    real tokens (special tokens in, padding out), pooled embeddings (N, H) or None, seconds in model calls,
    and the encoding they came from."""

    logits: list[np.ndarray]
    embedding: np.ndarray | None
    seconds: float
    encoded: Encoded


@dataclass(frozen=True)
class WordTags:
    """One sentence's word tags (IOB2, repaired; O for a word the model did not read) and each chosen tag's
    probability (None for such a word)."""

    tags: list[str]
    scores: list[float | None]


def aggregate(probs: np.ndarray, positions: Sequence[Sequence[int]], aggregation: Aggregation) -> list[np.ndarray | None]:
    """Per word, one probability row (K,) from its sub-tokens' rows of `probs` (T, K); None for a word without any.

    `positions` are each word's token indices (`word_tokens`)."""
    rows: list[np.ndarray | None] = []
    for tokens in positions:
        if not tokens:
            rows.append(None)
        elif aggregation == "first":
            rows.append(probs[tokens[0]])
        elif aggregation == "average":
            rows.append(probs[list(tokens)].mean(axis=0))
        elif aggregation == "max":
            word = probs[list(tokens)]
            rows.append(word[int(word.max(axis=1).argmax())])
        else:
            raise InferenceError(f"aggregation {aggregation!r} is unknown; use one of {list(AGGREGATIONS)}")
    return rows


def word_tags(
    logits: np.ndarray, positions: Sequence[Sequence[int]], labels: Sequence[str], aggregation: Aggregation
) -> WordTags:
    """The words' tags from one sentence's token logits (T, K): softmax, `aggregate`, argmax, `repair_iob2`."""
    rows = aggregate(softmax(np.asarray(logits, dtype=np.float64)), positions, aggregation)
    tags: list[str] = []
    scores: list[float | None] = []
    for row in rows:
        if row is None:
            tags.append(OUTSIDE)
            scores.append(None)
        else:
            best = int(row.argmax())
            tags.append(labels[best])
            scores.append(float(row[best]))
    repaired, _ = repair_iob2(tags)
    return WordTags(repaired, scores)


def sentence_tags(
    outputs: TokenOutputs, n_words: Sequence[int], labels: Sequence[str], aggregation: Aggregation
) -> list[list[str]]:
    """Each sentence's word tags (`word_tags`) from a tagger's outputs, given how many words each sentence has."""
    return [
        word_tags(logits, word_tokens(encoding, n), labels, aggregation).tags
        for logits, encoding, n in zip(outputs.logits, outputs.encoded.encodings, n_words)
    ]


def entities_of(text: str, words: Sequence[Word], encoding_offsets: Sequence[tuple[int, int]],
                positions: Sequence[Sequence[int]], tagged: WordTags) -> list[Entity]:
    """The entities of `text` from its word tags: each spans its words' first to last sub-token (tokenizer offsets,
    relative to each word, shifted by the word's start), so the offsets index the text as sent."""
    entities = []
    for span in spans_of(tagged.tags):
        first, last = words[span.start], words[span.end - 1]
        start = first.start + encoding_offsets[positions[span.start][0]][0]
        end = last.start + encoding_offsets[positions[span.end - 1][-1]][1]
        scores = [s for s in tagged.scores[span.start : span.end] if s is not None]
        entities.append(Entity(text[start:end], span.type, start, end, float(np.mean(scores))))
    return entities


class TaggerRuntime(OnnxModel):
    """A token classifier behind an ONNX Runtime session (logits (B, T, K), embedding (B, H)); one batch at a time."""

    task: Literal["token_classification"] = "token_classification"

    def __init__(
        self, session: ort.InferenceSession, tokenizer: BundleTokenizer, labels: Sequence[str], *, variant: str = "fp32",
        aggregation: Aggregation = "first",
    ) -> None:
        super().__init__(session, tokenizer, labels, variant=variant)
        if aggregation not in AGGREGATIONS:
            raise InferenceError(f"aggregation {aggregation!r} is unknown; use one of {list(AGGREGATIONS)}")
        self.aggregation: Aggregation = aggregation
        self.entity_types = entity_types(self.labels)

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Token counts of the texts' words before truncation (for rejecting over-long texts)."""
        return self.tokenizer.count_word_tokens(texts)

    def run_words(self, sentences: Sequence[Sequence[str]], batch_size: int | None = None) -> TokenOutputs:
        """Token logits and embeddings of pre-split sentences in input order, run in length buckets."""
        return self._run_encoded(self.tokenizer.encode_words(sentences), batch_size)

    def tag_words(self, sentences: Sequence[Sequence[str]], batch_size: int | None = None) -> list[list[str]]:
        """IOB2 tags per word of pre-split sentences (prepared `tokens`), e.g. to score a bundle on a test split."""
        return sentence_tags(self.run_words(sentences, batch_size), [len(s) for s in sentences], self.labels, self.aggregation)

    def predict(self, texts: Sequence[str]) -> list[TaggedText]:
        """Entities of each text (one server batch), with character offsets into the text as sent; order preserved."""
        if not texts:
            return []
        encoded, words = self.tokenizer.encode_texts_as_words(texts)
        out = self._run_encoded(encoded, None)
        answers = []
        for i, (text, text_words, encoding) in enumerate(zip(texts, words, encoded.encodings)):
            positions = word_tokens(encoding, len(text_words))
            tagged = word_tags(out.logits[i], positions, self.labels, self.aggregation)
            read = [s for s in tagged.scores if s is not None]
            answers.append(TaggedText(
                entities=entities_of(str(text), text_words, encoding.offsets, positions, tagged),
                truncated=bool(encoded.truncated[i]),
                embedding=None if out.embedding is None else out.embedding[i],
                n_tokens=int(encoded.n_tokens[i]),
                n_unknown=int(encoded.n_unknown[i]),
                confidence=float(np.mean(read)) if read else 1.0,
            ))
        return answers

    def _encode_for_warmup(self, texts: Sequence[str]) -> Encoded:
        return self.tokenizer.encode_texts_as_words(texts)[0]

    def _logits_shape(self, rows: int, width: int) -> tuple[int, ...]:
        return (rows, width, len(self.labels))

    def _run_encoded(self, encoded: Encoded, batch_size: int | None) -> TokenOutputs:
        """Outputs of encoded sentences gathered back into input order, each sentence's logits cut to its real tokens."""
        n = len(encoded.encodings)
        lengths = encoded.n_tokens.tolist()
        logits: list[np.ndarray] = [np.empty((0, len(self.labels)), dtype=np.float32)] * n
        embedding: np.ndarray | None = None
        seconds = 0.0
        for rows, outputs, spent in self._batches(encoded, batch_size):
            seconds += spent
            for row, i in enumerate(rows):
                logits[i] = outputs["logits"][row, : lengths[i]]
            pooled = outputs.get("embedding")
            if pooled is not None:
                if embedding is None:
                    embedding = np.empty((n, pooled.shape[-1]), dtype=np.float32)
                embedding[rows] = pooled
        return TokenOutputs(logits, embedding, seconds, encoded)
