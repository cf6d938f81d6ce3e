"""One ONNX inference runtime for every caller: the server, the promotion gate, export evaluation, the drift reference.

Bundle in (`load_runtime`), probabilities / logits / pooled embeddings and token counts out. Imports
neither torch nor transformers: only numpy, onnxruntime, tokenizers and the bundle manifest.
"""

from ._math import softmax
from ._runtime import ClassifierRuntime, Outputs, Prediction, load_runtime
from ._session import make_session
from ._tokens import BundleTokenizer, plan_buckets

__all__ = [
    "BundleTokenizer",
    "ClassifierRuntime",
    "Outputs",
    "Prediction",
    "load_runtime",
    "make_session",
    "plan_buckets",
    "softmax",
]
