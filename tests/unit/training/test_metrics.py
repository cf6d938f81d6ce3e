"""sftops.training._metrics: the entity scorer matches reordered prediction rows back to their sentences."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from sftops.modeling import load_tokenizer
from sftops.testing.ner_data import make_ner_frame, ner_label_map
from sftops.training import selection_metric
from sftops.training._data import tokenize_tagged_frame
from sftops.training._metrics import entity_scorer

LABELS = ner_label_map()


def _prediction(tagged, order, max_length, pad_id, wrong=()):
    """What the Trainer hands compute_metrics: rows in `order`, padded (pad id, then -100 past the batch width)."""
    ids = np.full((len(order), max_length), -100)
    inputs = np.full((len(order), max_length), -100)
    for row, sentence in enumerate(order):
        tokens = tagged.examples[sentence]["input_ids"]
        width = max_length - 1 if row % 2 else max_length  # two "batches" padded to different widths
        inputs[row, :width] = pad_id
        inputs[row, : len(tokens)] = tokens
        for word, position in enumerate(tagged.first_subtokens[sentence]):
            if position is not None:
                tag = tagged.tags[sentence][word]
                ids[row, position] = LABELS.label2id["O" if (sentence, word) in wrong else tag]
    return SimpleNamespace(predictions=ids, inputs=inputs, label_ids=None)


def test_reordered_rows_are_scored_against_their_own_sentences(tiny_bert_dir):
    tokenizer = load_tokenizer(tiny_bert_dir)
    tagged = tokenize_tagged_frame(make_ner_frame(30), tokenizer, 32, LABELS)
    score = entity_scorer(tagged, LABELS.names, tokenizer.pad_token_id)
    order = list(np.random.default_rng(0).permutation(30))
    assert score(_prediction(tagged, order, 32, tokenizer.pad_token_id))["entity_f1"] == 1.0

    entity = next((s, w) for s, tags in enumerate(tagged.tags) for w, t in enumerate(tags)
                  if t.startswith("B-") and not tags[w + 1].startswith("I-"))  # a one-word entity, predicted O
    scores = score(_prediction(tagged, order, 32, tokenizer.pad_token_id, wrong={entity}))
    assert scores["entity_precision"] == 1.0 and scores["entity_recall"] < 1.0 and scores["token_accuracy"] < 1.0


def test_words_cut_by_truncation_count_as_predicted_outside(tiny_bert_dir):
    tokenizer = load_tokenizer(tiny_bert_dir)
    frame = make_ner_frame(20)
    tagged = tokenize_tagged_frame(frame, tokenizer, 6, LABELS)
    assert tagged.entities_truncated > 0
    scores = entity_scorer(tagged, LABELS.names, tokenizer.pad_token_id)(
        _prediction(tagged, list(range(20)), 6, tokenizer.pad_token_id))
    assert scores["entity_recall"] < 1.0 and scores["token_accuracy"] < 1.0


@pytest.mark.parametrize(("task", "metric"), [("classification", "eval_macro_f1"),
                                              ("token_classification", "eval_entity_f1")])
def test_the_best_checkpoint_is_chosen_by_the_tasks_metric(task, metric):
    assert selection_metric(task) == metric
