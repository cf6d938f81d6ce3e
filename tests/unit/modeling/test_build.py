"""sftops.modeling: strategies, label maps, bad base folders, predict_logits."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from sftops.config import ModelConfig
from sftops.data.labels import LabelMap
from sftops.data.prepared import load_prepared
from sftops.exceptions import ConfigError, ModelError
from sftops.modeling import TrainedModelInfo, build_classifier, load_tokenizer, predict_logits, save_model
from sftops.training import fine_tune

LABELS = LabelMap(("negative", "neutral", "positive"))


def _snapshot(model) -> dict[str, torch.Tensor]:
    return {name: p.detach().clone() for name, p in model.named_parameters()}


def test_freeze_keeps_embeddings_and_lowest_layers_unchanged(make_params, prepared_dir):
    params = make_params(model={"strategy": "freeze", "freeze_layers": 1}, train={"epochs": 1})
    data = load_prepared(prepared_dir)
    before = _snapshot(build_classifier(params.model, data.label_map, seed=params.train.seed))
    after = _snapshot(fine_tune(params, data.label_map, data.train, data.validation, keep_best=False).model)
    frozen = [n for n in before if ".embeddings." in n or ".encoder.layer.0." in n]
    trained = [n for n in before if ".encoder.layer.1." in n or n.startswith("classifier.")]
    assert frozen and trained
    assert all(torch.equal(before[n], after[n]) for n in frozen)
    assert all(not torch.equal(before[n], after[n]) for n in trained if n.endswith("weight"))


def test_freezing_all_layers_leaves_only_the_head_trainable(tiny_bert_dir):
    model = build_classifier(ModelConfig(base=str(tiny_bert_dir), strategy="freeze", freeze_layers=2), LABELS, seed=0)
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert trainable == {"classifier.weight", "classifier.bias"}


def test_freeze_layers_beyond_the_model_is_a_config_error(tiny_bert_dir):
    with pytest.raises(ConfigError, match="freeze_layers: 3 exceeds the 2 encoder layers"):
        build_classifier(ModelConfig(base=str(tiny_bert_dir), strategy="freeze", freeze_layers=3), LABELS, seed=0)


def test_lora_trains_only_adapters_and_head(make_params, prepared_dir):
    params = make_params(model={"strategy": "lora", "lora": {"r": 4, "alpha": 8}}, train={"epochs": 1})
    data = load_prepared(prepared_dir)
    model = build_classifier(params.model, data.label_map, seed=params.train.seed)
    trainable = [n for n, p in model.named_parameters() if p.requires_grad]
    assert trainable and all("lora_" in n or ".classifier." in n for n in trainable)
    before = _snapshot(model)
    after = _snapshot(fine_tune(params, data.label_map, data.train, data.validation, keep_best=False).model)
    changed = {n for n in before if not torch.equal(before[n], after[n])}
    assert changed and changed <= set(trainable)
    assert any("lora_B" in n for n in changed)


def test_saved_model_round_trips_labels_and_merges_lora(make_params, prepared_dir, tmp_path):
    params = make_params(model={"strategy": "lora"})
    data = load_prepared(prepared_dir)
    model = build_classifier(params.model, data.label_map, seed=0)
    tokenizer = load_tokenizer(params.model.base)
    texts = data.test["text"].tolist()[:20]
    from sftops.modeling import logits_of

    expected = logits_of(model, tokenizer, texts, batch_size=7, max_length=32)
    save_model(model, tokenizer, data.label_map, TrainedModelInfo(base_model="tiny", strategy="lora", max_length=32), tmp_path / "m")
    assert LabelMap.load(tmp_path / "m" / "label_map.json") == data.label_map
    config = json.loads((tmp_path / "m" / "config.json").read_text())
    assert config["id2label"] == {str(i): n for i, n in enumerate(data.label_map.names)}
    assert not (tmp_path / "m" / "adapter_config.json").exists()  # a plain model, adapters merged
    got = predict_logits(tmp_path / "m", texts, batch_size=5, max_length=32)
    np.testing.assert_allclose(got, expected, atol=1e-5)


def test_predict_logits_keeps_input_order(tiny_bert_dir, tmp_path):
    model = build_classifier(ModelConfig(base=str(tiny_bert_dir)), LABELS, seed=0)
    tokenizer = load_tokenizer(tiny_bert_dir)
    save_model(model, tokenizer, LABELS, TrainedModelInfo(base_model="tiny", strategy="full"), tmp_path / "m")
    texts = ["short", "a much longer text with many more words than the others here", "medium length text"]
    batched = predict_logits(tmp_path / "m", texts, batch_size=2)
    single = np.concatenate([predict_logits(tmp_path / "m", [t]) for t in texts])
    np.testing.assert_allclose(batched, single, atol=1e-5)
    assert batched.shape == (3, 3)


def test_base_folder_that_is_not_a_model(tmp_path):
    (tmp_path / "config.json").write_text('{"hello": "world"}')
    with pytest.raises(ModelError, match=r"model\.base"):
        build_classifier(ModelConfig(base=str(tmp_path)), LABELS, seed=0)


def test_base_folder_without_config(tmp_path):
    with pytest.raises(ModelError, match=r"no config\.json"):
        build_classifier(ModelConfig(base=str(tmp_path)), LABELS, seed=0)


def test_unknown_strategy_is_rejected_when_params_are_parsed():
    from sftops.config import parse_params

    with pytest.raises(ConfigError, match=r"model\.strategy"):
        parse_params({"model": {"strategy": "adapters"}})


TAGS = LabelMap(("O", "B-LOC", "I-LOC", "B-PER", "I-PER"))


@pytest.mark.parametrize(
    ("strategy", "extra", "trainable_prefixes"),
    [
        ("full", {}, None),
        ("freeze", {"freeze_layers": 2}, ("classifier.",)),
        ("lora", {"lora": {"r": 4, "alpha": 8}}, ("lora_", "classifier.")),
    ],
)
def test_token_head_with_each_strategy(tiny_bert_dir, strategy, extra, trainable_prefixes):
    cfg = ModelConfig(base=str(tiny_bert_dir), strategy=strategy, **extra)
    model = build_classifier(cfg, TAGS, seed=0, task="token_classification")
    tokenizer = load_tokenizer(tiny_bert_dir)
    batch = tokenizer(["anna flew to oslo", "hi"], padding=True, return_tensors="pt")
    with torch.inference_mode():
        logits = model(**batch).logits
    assert tuple(logits.shape) == (2, batch["input_ids"].shape[1], 5)  # one row of tag logits per token
    assert model.config.id2label == TAGS.id2label
    trainable = [n for n, p in model.named_parameters() if p.requires_grad]
    if trainable_prefixes is None:
        assert len(trainable) == len(list(model.parameters()))
    else:
        assert trainable and all(any(part in n for part in trainable_prefixes) for n in trainable)
        assert any("classifier." in n for n in trainable)
    if strategy == "lora":
        from peft import TaskType

        assert model.peft_config["default"].task_type == TaskType.TOKEN_CLS


def test_token_head_is_seeded(tiny_bert_dir):
    cfg = ModelConfig(base=str(tiny_bert_dir))
    first = build_classifier(cfg, TAGS, seed=1, task="token_classification").classifier.weight
    again = build_classifier(cfg, TAGS, seed=1, task="token_classification").classifier.weight
    other = build_classifier(cfg, TAGS, seed=2, task="token_classification").classifier.weight
    assert torch.equal(first, again) and not torch.equal(first, other)
