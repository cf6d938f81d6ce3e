"""sftops.training._data: word-tag alignment to sub-tokens, truncated entities, NER subsamples, task checks."""

from __future__ import annotations

import pandas as pd
import pytest

from sftops.exceptions import DataError
from sftops.modeling import load_tokenizer
from sftops.testing.ner_data import make_ner_frame, ner_label_map
from sftops.training import subsample
from sftops.training._data import IGNORE, tokenize_tagged_frame

LABELS = ner_label_map()  # O, B-LOC, I-LOC, B-PER, I-PER
OUT, B_LOC, I_LOC, B_PER, I_PER = range(5)


def _frame(*sentences: tuple[list[str], list[str]]) -> pd.DataFrame:
    ids = LABELS.label2id
    return pd.DataFrame([{"text": " ".join(tokens), "tokens": tokens, "tags": tags, "tag_ids": [ids[t] for t in tags]}
                         for tokens, tags in sentences])


SENTENCE = (["Anna", "visited", "Oberammergau", "today"], ["B-PER", "O", "B-LOC", "O"])


def test_the_tag_goes_on_the_first_sub_token_and_special_tokens_are_ignored(tiny_bert_dir):
    tokenizer = load_tokenizer(tiny_bert_dir)
    tagged = tokenize_tagged_frame(_frame(SENTENCE), tokenizer, 32, LABELS)
    example = tagged.examples[0]
    pieces = tokenizer.convert_ids_to_tokens(example["input_ids"])
    assert pieces == ["[CLS]", "anna", "visited", "obe", "##ram", "##mer", "##gau", "today", "[SEP]"]
    assert example["labels"] == [IGNORE, B_PER, OUT, B_LOC, IGNORE, IGNORE, IGNORE, OUT, IGNORE]
    assert tagged.first_subtokens == [[1, 2, 3, 7]]
    assert tagged.tags == [SENTENCE[1]]
    assert (tagged.entities_total, tagged.entities_truncated) == (2, 0)


def test_label_all_subtokens_gives_later_pieces_the_inside_tag(tiny_bert_dir):
    tokenizer = load_tokenizer(tiny_bert_dir)
    sentence = (["Ouagadougou", "and", "Oberammergau"], ["B-LOC", "O", "I-LOC"])  # an I-X word keeps I-X
    labels = tokenize_tagged_frame(_frame(sentence), tokenizer, 32, LABELS, label_all_subtokens=True).examples[0]["labels"]
    pieces = tokenizer.convert_ids_to_tokens(tokenize_tagged_frame(_frame(sentence), tokenizer, 32, LABELS)
                                             .examples[0]["input_ids"])
    first_word = pieces.index("and") - 1  # the pieces of ouagadougou
    assert labels[0] == IGNORE and labels[-1] == IGNORE
    assert labels[1] == B_LOC and labels[2 : first_word + 1] == [I_LOC] * (first_word - 1) and first_word > 1
    assert labels[first_word + 1] == OUT
    assert set(labels[first_word + 2 : -1]) == {I_LOC}


def test_entities_cut_by_truncation_are_counted(tiny_bert_dir):
    tokenizer = load_tokenizer(tiny_bert_dir)
    # [CLS] anna visited obe ##ram | ##mer ##gau today [SEP]: max_length 6 keeps oberammergau's first pieces only
    frame = _frame(SENTENCE, (["Anna", "met", "Farah", "Okafor", "in", "Oslo"], ["B-PER", "O", "B-PER", "I-PER", "O", "B-LOC"]))
    tagged = tokenize_tagged_frame(frame, tokenizer, 6, LABELS)
    assert tagged.first_subtokens[0] == [1, 2, 3, None]  # oberammergau still has its first piece; "today" is cut
    # [CLS] anna met far ##ah [SEP]: "Farah Okafor" loses Okafor and Oslo is gone; Anna is whole
    assert tagged.first_subtokens[1] == [1, 2, 3, None, None, None]
    assert (tagged.entities_total, tagged.entities_truncated) == (5, 2)
    assert all(len(e["input_ids"]) == 6 == len(e["labels"]) for e in tagged.examples)

    frame = _frame((["Farah", "Okafor", "flew"], ["B-PER", "I-PER", "O"]))
    tagged = tokenize_tagged_frame(frame, tokenizer, 3, LABELS)  # [CLS] farah [SEP]: the entity loses a word
    assert tagged.first_subtokens == [[1, None, None]] and tagged.entities_truncated == 1


def test_a_classification_split_is_not_token_data(tiny_bert_dir):
    frame = pd.DataFrame({"text": ["a b"], "label": [0]})
    with pytest.raises(DataError, match="task: token_classification"):
        tokenize_tagged_frame(frame, load_tokenizer(tiny_bert_dir), 32, LABELS)


def test_ner_subsample_is_seeded_random_without_stratifying():
    frame = make_ner_frame(50)
    first = subsample(frame, 20, seed=3, stratify=None)
    assert len(first) == 20 and first["text"].tolist() == subsample(frame, 20, seed=3, stratify=None)["text"].tolist()
    assert first["text"].tolist() != subsample(frame, 20, seed=4, stratify=None)["text"].tolist()
    assert set(first["text"]) <= set(frame["text"])
    assert subsample(frame, None, seed=3, stratify=None) is frame


def test_data_prepared_for_another_task_is_refused():
    from sftops.testing import prepared_from_frames
    from sftops.testing.ner_data import prepared_ner

    prepared_ner(4, 2, 2).check_task("token_classification")
    prepared_from_frames(9, 3, n_validation=3).check_task("classification")  # meta without a task: classification
    with pytest.raises(DataError, match=r"holds classification data but params\.task is token_classification"):
        prepared_from_frames(9, 3, n_validation=3).check_task("token_classification")
