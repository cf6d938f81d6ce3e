"""bench/ner_recipe.py: run_ner's label alignment, and one whole run on a tiny BERT printing the JSON the README reads."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from sftops.testing.project import PROJECT_ROOT, project_env

SCRIPT = PROJECT_ROOT / "bench" / "ner_recipe.py"


def _ner_recipe():
    spec = importlib.util.spec_from_file_location("ner_recipe", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_plain_recipe_labels_each_words_first_subtoken_only() -> None:
    from transformers import AutoTokenizer

    from sftops.defaults import builtin_model_dir

    tokenizer = AutoTokenizer.from_pretrained(builtin_model_dir())
    words = ["Lovelace", "visited", "#londonisblue", "today"]
    encoded = tokenizer([words], is_split_into_words=True, truncation=True, max_length=7, padding="max_length")
    word_ids = encoded.word_ids(0)
    labels = _ner_recipe().first_subtoken_labels(word_ids, [1, 0, 3, 0])
    assert len(labels) == 7 and word_ids[0] is None and word_ids[-1] is None  # [CLS] ... [SEP], cut at 7
    kept = sorted({w for w in word_ids if w is not None})
    assert kept[0] == 0 and len(kept) < len(words)  # truncation cut the last words
    first = {w: word_ids.index(w) for w in kept}
    assert [labels[first[w]] for w in kept] == [[1, 0, 3, 0][w] for w in kept]
    assert all(label == -100 for i, label in enumerate(labels) if i not in first.values())


def test_a_whole_run_on_a_tiny_bert_prints_both_recipes_and_the_crf(tmp_path: Path, tiny_bert_dir: Path) -> None:
    from sftops.testing.datasets import make_tagged_sentences, write_conll

    source = write_conll(tmp_path / "train.conll", make_tagged_sentences(120, seed=3))
    params = tmp_path / "params.yaml"
    params.write_text(yaml.safe_dump({
        "task": "token_classification",
        "data": {"source": str(source), "split": {"train": 0.6, "validation": 0.2, "test": 0.2}},
        "model": {"base": str(tiny_bert_dir), "max_length": 24},
        "train": {"learning_rate": 1e-3, "batch_size": 8, "epochs": 1, "precision": "fp32"},
    }))
    proc = subprocess.run([sys.executable, str(SCRIPT), "--params", str(params), "--train-samples", "40"],
                          cwd=tmp_path, env=project_env(), capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(proc.stdout)
    assert report["data"]["train"] == 40 and report["data"]["tags"] == 7  # O + B-/I- of LOC, ORG, PER
    for recipe in ("plain", "sftops", "crf"):
        assert 0.0 <= report[recipe]["entity_f1"] <= 1.0 and report[recipe]["wall_s"] >= 0
    assert report["crf"]["entity_f1"] > 0.5  # the synthetic entities are a closed list: the CRF learns them
    assert report["ratio"]["wall_plain_over_sftops"] == pytest.approx(
        report["plain"]["wall_s"] / report["sftops"]["wall_s"], rel=0.1)
