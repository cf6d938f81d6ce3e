"""sftops.modeling word-level prediction: first sub-token logits, truncated words predicted O, saved taggers."""

from __future__ import annotations

import numpy as np
import pytest

from sftops.config import ModelConfig
from sftops.exceptions import ModelError
from sftops.modeling import (
    TrainedModelInfo,
    build_classifier,
    encode_words,
    first_subtokens,
    kept_words,
    load_tokenizer,
    predict_word_tags,
    word_logits_of,
    word_tags_of,
)
from sftops.testing.ner_data import ner_label_map
from sftops.testing.tiny_bert import save_token_classifier

SENTENCES = [["Anna", "visited", "Oberammergau", "today"], ["Oslo"], ["we", "met", "Farah", "Okafor", "in", "Lima"], []]


@pytest.fixture(scope="module")
def tagger(tiny_bert_dir):
    model = build_classifier(ModelConfig(base=str(tiny_bert_dir)), ner_label_map(), seed=0,
                             task="token_classification")
    return model, load_tokenizer(tiny_bert_dir)


def test_first_subtokens_and_kept_words():
    word_ids = [None, 0, 1, 1, 1, 2, None]
    assert first_subtokens(word_ids, 3) == [1, 2, 5]
    assert kept_words(word_ids, 3, max_length=8) == 3
    assert first_subtokens([None, 0, 1, 1, None], 4) == [1, 2, None, None]
    assert kept_words([None, 0, 1, 1, None], 4, max_length=5) == 2  # full length: words 2 and 3 were cut
    assert kept_words([None, None], 0, max_length=2) == 0


def test_word_logits_are_the_first_sub_tokens_in_input_order(tagger):
    import torch

    model, tokenizer = tagger
    logits = word_logits_of(model, tokenizer, SENTENCES, batch_size=2, max_length=32)
    assert [a.shape for a in logits] == [(4, 5), (1, 5), (6, 5), (0, 5)]
    encoded = encode_words(tokenizer, SENTENCES[:1], 32)
    with torch.inference_mode():
        full = model(**encoded.convert_to_tensors("pt")).logits[0].numpy()
    np.testing.assert_allclose(logits[0], full[[1, 2, 3, 7]], atol=1e-5)  # obe ##ram ##mer ##gau: position 3
    single = [word_logits_of(model, tokenizer, [s], max_length=32)[0] for s in SENTENCES]
    for batched, alone in zip(logits, single):
        np.testing.assert_allclose(batched, alone, atol=1e-5)


def test_words_cut_by_truncation_are_predicted_outside(tagger):
    model, tokenizer = tagger
    logits = word_logits_of(model, tokenizer, SENTENCES[2:3], max_length=5)[0]  # [CLS] we met far ##ah [SEP]: 4 kept
    assert np.all(logits[3:].argmax(axis=1) == 0) and np.all(logits[3:, 1:] <= -1e3)
    tags = word_tags_of(model, tokenizer, SENTENCES[2:3], max_length=5)[0]
    assert len(tags) == 6 and tags[3:] == ["O", "O", "O"]
    assert set(tags) <= set(ner_label_map().names)


def test_a_saved_token_classifier_predicts_the_same_tags(tagger, tiny_bert_dir, tmp_path):
    model, tokenizer = tagger
    folder = save_token_classifier(tiny_bert_dir, tmp_path / "tagger")
    info = TrainedModelInfo.load(folder)
    assert info.task == "token_classification" and info.max_length == 32
    expected = word_tags_of(model, tokenizer, SENTENCES, max_length=32)  # same seed: same fresh head
    assert predict_word_tags(folder, SENTENCES, batch_size=3, max_length=32) == expected


def test_model_info_written_before_tasks_is_a_classifier(tmp_path):
    (tmp_path / "sftops_model.json").write_text('{"base_model": "b", "strategy": "full", "max_length": 64}')
    assert TrainedModelInfo.load(tmp_path).task == "classification"


def test_a_slow_tokenizer_cannot_align_words():
    class SlowTokenizer:  # a Python tokenizer: no word_ids()
        is_fast = False

    with pytest.raises(ModelError, match="SlowTokenizer is a slow tokenizer; token classification needs a fast one"):
        encode_words(SlowTokenizer(), SENTENCES, 32)


def test_a_tokenizer_refusing_pre_split_words_is_a_model_error():
    class PrefixSpaceTokenizer:  # what a byte-level BPE tokenizer without add_prefix_space does
        is_fast = True

        def __call__(self, *args, **kwargs):
            raise ValueError("You need to instantiate with add_prefix_space=True to use it with pretokenized inputs.")

    with pytest.raises(ModelError, match=r"PrefixSpaceTokenizer cannot tokenize pre-split words .*add_prefix_space"):
        encode_words(PrefixSpaceTokenizer(), SENTENCES, 32)


def test_a_lora_tagger_saves_merged_with_its_trained_head(tiny_bert_dir, tmp_path):
    import torch

    from sftops.modeling import save_model

    cfg = ModelConfig(base=str(tiny_bert_dir), strategy="lora", lora={"r": 4, "alpha": 8}, max_length=32)
    model = build_classifier(cfg, ner_label_map(), seed=0, task="token_classification")
    torch.manual_seed(1)
    with torch.no_grad():  # stand-in for training: move every trainable weight (adapters and the head's copy)
        for param in (p for p in model.parameters() if p.requires_grad):
            param.add_(torch.randn_like(param) * 0.5)
    tokenizer = load_tokenizer(tiny_bert_dir)
    expected = word_logits_of(model, tokenizer, SENTENCES, max_length=32)
    info = TrainedModelInfo(base_model="tiny", strategy="lora", max_length=32, task="token_classification")
    folder = save_model(model, tokenizer, ner_label_map(), info, tmp_path / "m")
    assert not (folder / "adapter_config.json").exists()

    from transformers import AutoModelForTokenClassification

    saved = AutoModelForTokenClassification.from_pretrained(folder)
    for got, want in zip(word_logits_of(saved, tokenizer, SENTENCES, max_length=32), expected):
        np.testing.assert_allclose(got, want, atol=1e-4)
    assert predict_word_tags(folder, SENTENCES, max_length=32) == [[ner_label_map().names[i] for i in w.argmax(axis=1)]
                                                                   for w in expected]


def test_entities_cut_by_truncation_are_counted_from_words_and_tags(tiny_bert_dir):
    from sftops.modeling import count_truncated_entities

    tokenizer = load_tokenizer(tiny_bert_dir)
    tags = [["B-PER", "O", "B-LOC", "O"], ["B-LOC"], ["O", "O", "B-PER", "I-PER", "O", "B-LOC"], []]
    assert count_truncated_entities(tokenizer, SENTENCES, tags, 32) == (5, 0)
    # max_length 5: [CLS] anna visited obe [SEP] keeps Oberammergau's first piece; [CLS] we met far [SEP] cuts
    # Okafor out of "Farah Okafor" and drops Lima
    assert count_truncated_entities(tokenizer, SENTENCES, tags, 5) == (5, 2)
