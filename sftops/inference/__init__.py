"""One ONNX inference runtime for every caller: the server, the promotion gate, export evaluation, the drift reference.

Bundle in (`load_runtime`), probabilities / logits / pooled embeddings and token counts out; for a
token-classification bundle (`TaggerRuntime`), entity spans with character offsets into each text.
Imports neither torch nor transformers: only numpy, onnxruntime, tokenizers and the bundle manifest.
"""

from ._math import softmax
from ._runtime import ClassifierRuntime, Outputs, Prediction, Runtime, load_runtime
from ._session import make_session
from ._tagger import (
    AGGREGATIONS,
    Aggregation,
    Entity,
    TaggedText,
    TaggerRuntime,
    TokenOutputs,
    WordTags,
    aggregate,
    entities_of,
    sentence_tags,
    word_tags,
)
from ._tokens import BundleTokenizer, Encoded, plan_buckets, word_tokens

__all__ = [
    "AGGREGATIONS",
    "Aggregation",
    "BundleTokenizer",
    "ClassifierRuntime",
    "Encoded",
    "Entity",
    "Outputs",
    "Prediction",
    "Runtime",
    "TaggedText",
    "TaggerRuntime",
    "TokenOutputs",
    "WordTags",
    "aggregate",
    "entities_of",
    "load_runtime",
    "make_session",
    "plan_buckets",
    "sentence_tags",
    "softmax",
    "word_tags",
    "word_tokens",
]
