"""prepare for token classification: each source format, the builtin NER tweets, every cleaning count, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from sftops.config import DataConfig
from sftops.data import load_prepared, prepare_dataset
from sftops.data.token_clean import clean_sentences
from sftops.data.token_sources import RawSentences, load_sentences
from sftops.exceptions import DataError
from sftops.tagging import tag_names
from sftops.testing.datasets import ENTITY_TYPES, make_tagged_sentences, write_conll

NER = "token_classification"


def _raw(rows: list[tuple[list[str], list[str]]], extra: list[bool] | None = None) -> RawSentences:
    frame = pd.DataFrame({"tokens": [r[0] for r in rows], "tags": [r[1] for r in rows],
                          "extra": extra or [False] * len(rows), "split": ""})
    return RawSentences(frame, "mem")


def test_the_builtin_ner_tweets_load_and_prepare(tmp_path: Path) -> None:
    raw = load_sentences(DataConfig(source="builtin:ner-tweets"))
    assert len(raw.frame) == 2394 and raw.malformed_lines == 0
    meta = prepare_dataset(DataConfig(source="builtin:ner-tweets"), tmp_path / "p", task=NER)
    types = ["company", "facility", "geo-loc", "movie", "musicartist", "other", "person", "product", "sportsteam", "tvshow"]
    assert meta["task"] == NER and meta["entity_types"] == types
    assert meta["label_map"] == {tag: i for i, tag in enumerate(tag_names(types))} and meta["label_map"]["O"] == 0
    assert (meta["rows_read"], meta["rows_kept"]) == (2394, 2295)
    cleaning = meta["cleaning"]
    assert cleaning["duplicate_sentences"] == 99 and cleaning["duplicates_tagged_differently"] == 14
    assert cleaning["tokens_repaired"] == 283  # HTML entities: &amp; -> &
    changed = ("duplicate_sentences", "duplicates_tagged_differently", "tokens_repaired")
    assert {k: v for k, v in cleaning.items() if k not in changed} == dict.fromkeys([k for k in cleaning if k not in changed], 0)
    assert [meta["counts"][s]["sentences"] for s in ("train", "validation", "test")] == [1817, 243, 235]
    assert meta["counts"]["train"]["entities"] == sum(meta["counts"]["train"]["per_type"].values()) == 1150
    data = load_prepared(tmp_path / "p")
    assert data.task == NER and list(data.train.columns) == ["text", "tokens", "tags", "tag_ids"]
    row = data.train.iloc[0]
    assert row["text"] == " ".join(row["tokens"]) and len(row["tokens"]) == len(row["tags"]) == len(row["tag_ids"])
    assert data.label_map.encode(row["tags"]) == row["tag_ids"]
    assert all(" " not in t and t for tokens in data.train["tokens"] for t in tokens)


@pytest.mark.parametrize("fmt", ["conll-spaces", "conll-tabs", "jsonl", "parquet", "datasets"])
def test_each_source_format_prepares_the_same_sentences(tmp_path: Path, fmt: str) -> None:
    sentences = make_tagged_sentences(60, seed=1)
    frame = pd.DataFrame({"words": [t for t, _ in sentences], "ner": [g for _, g in sentences]})
    cfg = {"tokens_column": "words", "tags_column": "ner"}
    if fmt.startswith("conll"):
        path = write_conll(tmp_path / "d.conll", sentences, separator="\t" if fmt == "conll-tabs" else " ")
    elif fmt == "jsonl":
        path = tmp_path / "d.jsonl"
        frame.to_json(path, orient="records", lines=True)
    elif fmt == "parquet":
        path = tmp_path / "d.parquet"
        frame.to_parquet(path)
    else:
        import datasets

        names = tag_names(ENTITY_TYPES)
        features = datasets.Features({"words": datasets.Sequence(datasets.Value("string")),
                                      "ner": datasets.Sequence(datasets.ClassLabel(names=names))})
        ids = [[names.index(t) for t in g] for _, g in sentences]
        path = tmp_path / "folder"
        datasets.DatasetDict({
            "train": datasets.Dataset.from_dict({"words": frame["words"][:40].tolist(), "ner": ids[:40]}, features=features),
            "test": datasets.Dataset.from_dict({"words": frame["words"][40:].tolist(), "ner": ids[40:]}, features=features),
        }).save_to_disk(str(path))
    raw = load_sentences(DataConfig(source=str(path), **cfg))
    assert [list(t) for t in raw.frame["tokens"]] == [t for t, _ in sentences]
    assert [list(g) for g in raw.frame["tags"]] == [g for _, g in sentences]
    meta = prepare_dataset(DataConfig(source=str(path), **cfg), tmp_path / "out", task=NER)
    assert meta["entity_types"] == list(ENTITY_TYPES) and meta["rows_kept"] == 60
    assert sum(meta["counts"][s]["sentences"] for s in ("train", "validation", "test")) == 60


def test_schemes_are_converted_to_iob2_and_counted() -> None:
    bioes = _raw([(["Bob", "Smith", "in", "Paris"], ["B-PER", "E-PER", "O", "S-LOC"])])
    cleaned, report = clean_sentences(bioes, DataConfig())
    assert report.scheme == "bioes" and cleaned["tags"][0] == ["B-PER", "I-PER", "O", "B-LOC"]
    assert report.counts["tags_converted_to_iob2"] == 2
    iob1 = _raw([(["Bob", "Smith", "Ann", "in", "Paris"], ["I-PER", "I-PER", "B-PER", "O", "I-LOC"])])
    cleaned, report = clean_sentences(iob1, DataConfig(tag_scheme="iob1"))
    assert cleaned["tags"][0] == ["B-PER", "I-PER", "B-PER", "O", "B-LOC"]
    assert report.counts["tags_converted_to_iob2"] == 2 and report.counts["stray_inside_repaired"] == 0
    # auto on IOB-looking tags: a stray I-X is the conlleval repair, counted as such
    cleaned, report = clean_sentences(iob1, DataConfig())
    assert cleaned["tags"][0] == ["B-PER", "I-PER", "B-PER", "O", "B-LOC"] and report.counts["stray_inside_repaired"] == 2


def test_tags_outside_the_scheme_or_of_unlisted_types_become_o() -> None:
    raw = _raw([(["a", "b", "c", "d", "e"], ["B-PER", "X-PER", "person", "S-LOC", "B-ORG"])])
    cleaned, report = clean_sentences(raw, DataConfig(tag_scheme="iob2", labels=["PER", "LOC"]))
    assert cleaned["tags"][0] == ["B-PER", "O", "O", "O", "O"]
    assert report.counts["tags_outside_scheme"] == 3 and report.counts["tags_of_unknown_type"] == 1
    # data.labels may list the tag set itself
    cleaned, _ = clean_sentences(raw, DataConfig(tag_scheme="iob2", labels=["O", "B-ORG", "I-ORG"]))
    assert cleaned["tags"][0] == ["O", "O", "O", "O", "B-ORG"]


def test_tokens_are_repaired_split_dropped_and_sentences_deduplicated() -> None:
    raw = _raw([
        (["New York", "caf\u00c3\u00a9", "", "x\x07y", "in"], ["B-LOC", "O", "B-PER", "O", "O"]),
        (["a  b", "I-ORG"], ["O", "I-ORG"]),  # "I-ORG" after O: stray inside, repaired
        (["", " "], ["O", "O"]),  # empty after cleaning
        (["NEW", "york", "café", "xy", "IN"], ["B-LOC", "I-LOC", "O", "O", "O"]),  # same text as the first (case aside)
    ])
    cleaned, report = clean_sentences(raw, DataConfig())
    assert cleaned["tokens"].tolist() == [["New", "York", "café", "xy", "in"], ["a", "b", "I-ORG"]]
    assert cleaned["tags"].tolist() == [["B-LOC", "I-LOC", "O", "O", "O"], ["O", "O", "B-ORG"]]
    assert cleaned["text"].tolist() == ["New York café xy in", "a b I-ORG"]
    counts = report.counts
    assert (counts["tokens_split"], counts["empty_tokens"], counts["tokens_repaired"]) == (2, 3, 2)
    assert (counts["stray_inside_repaired"], counts["empty_sentences"], counts["duplicate_sentences"]) == (1, 1, 1)
    assert (report.sentences_read, report.sentences_kept) == (4, 2)


def test_feedback_rows_are_untrusted_and_go_to_train(tmp_path: Path) -> None:
    sentences = make_tagged_sentences(60, seed=2)
    source = write_conll(tmp_path / "d.conll", sentences)
    feedback = tmp_path / "feedback.jsonl"
    new = make_tagged_sentences(3, seed=99)
    lines = [json.dumps({"tokens": t, "tags": g}) for t, g in new]
    lines += [
        "{not json",  # unparsable
        json.dumps({"tokens": ["a", "b"], "tags": ["O"]}),  # lengths differ
        json.dumps({"tokens": ["Zed"], "tags": ["B-ALIEN"]}),  # a type the source does not have
        json.dumps({"tokens": sentences[0][0], "tags": sentences[0][1]}),  # the source has it, same tags
    ]
    feedback.write_text("\n".join(lines) + "\n")
    meta = prepare_dataset(DataConfig(source=str(source), extra_sources=[str(feedback)]), tmp_path / "p", task=NER)
    cleaning = meta["cleaning"]
    assert (cleaning["unparsable_rows"], cleaning["malformed_rows"], cleaning["extra_invalid_tags"]) == (1, 1, 1)
    assert meta["extra_sources"]["rows_read"] == 7 and meta["extra_sources"]["rows_kept"] == 3
    data = load_prepared(tmp_path / "p")
    assert {" ".join(t) for t, _ in new} <= set(data.train["text"])
    assert meta["entity_types"] == list(ENTITY_TYPES)


def test_a_feedback_correction_of_a_source_sentence_follows_the_conflict_policy(tmp_path: Path) -> None:
    sentences = make_tagged_sentences(60, seed=3)
    source = write_conll(tmp_path / "d.conll", sentences)
    tokens, tags = sentences[5]
    corrected = ["O"] * len(tags)
    corrected[-1] = "B-ORG"  # the hashtag is now an organisation
    feedback = tmp_path / "fb.jsonl"
    feedback.write_text(json.dumps({"tokens": tokens, "tags": corrected}) + "\n")
    base = {"source": str(source), "extra_sources": [str(feedback)], "extra_sources_split": "hash"}
    meta = prepare_dataset(DataConfig(**base, feedback_conflict="prefer_feedback"), tmp_path / "p", task=NER)
    data = load_prepared(tmp_path / "p")
    everything = pd.concat([data.train, data.validation, data.test])
    assert everything.loc[everything["text"] == " ".join(tokens), "tags"].tolist() == [corrected]
    assert meta["extra_sources"]["label_conflicts"] == 1 and meta["rows_kept"] == 60
    meta = prepare_dataset(DataConfig(**base, feedback_conflict="drop_both"), tmp_path / "q", task=NER)
    assert meta["rows_kept"] == 59 and meta["cleaning"]["feedback_conflict"] == 2


def test_bad_input_stops_with_one_line(tmp_path: Path) -> None:
    def _fails(cfg: DataConfig, pattern: str) -> None:
        with pytest.raises(DataError, match=pattern) as info:
            prepare_dataset(cfg, tmp_path / "out", task=NER)
        assert "\n" not in str(info.value)
        assert not (tmp_path / "out").exists()

    _fails(DataConfig(source=str(tmp_path / "none.conll")), r"none\.conll does not exist")
    (tmp_path / "blank.conll").write_text("-DOCSTART- O\n\n\n")
    _fails(DataConfig(source=str(tmp_path / "blank.conll")), r"no sentences found")
    write_conll(tmp_path / "plain.conll", [(["just", "words"], ["O", "O"])] * 3)
    _fails(DataConfig(source=str(tmp_path / "plain.conll")), r"at least 1 entity type")
    pd.DataFrame({"tokens": [["a"]], "labels": [["O"]]}).to_json(tmp_path / "t.jsonl", orient="records", lines=True)
    _fails(DataConfig(source=str(tmp_path / "t.jsonl")), r"\['tags'\] not found; columns are \['tokens', 'labels'\]")
    pd.DataFrame({"tokens": [["a"]], "tags": [[1]]}).to_json(tmp_path / "ids.jsonl", orient="records", lines=True)
    _fails(DataConfig(source=str(tmp_path / "ids.jsonl")), r"tag ids without names")
    (tmp_path / "d.csv").write_text("text,label\na,b\n")
    _fails(DataConfig(source=str(tmp_path / "d.csv")), r"unsupported type '\.csv' for token classification")
    _fails(DataConfig(source="builtin:tweets"), r"builtin:tweets is a classification dataset")


def test_a_legacy_encoded_line_is_decoded_and_caps_take_sentences_in_hash_order(tmp_path: Path) -> None:
    path = write_conll(tmp_path / "d.conll", make_tagged_sentences(200, seed=4))
    path.write_bytes(path.read_bytes() + "Caf\u00e9\tB-LOC\nopens\tO\n".encode("cp1252"))
    capped = DataConfig(source=str(path), max_samples={"train": 50, "test": 10})
    meta = prepare_dataset(capped, tmp_path / "p", task=NER)
    assert meta["lines_decoded_with_fallback"] == 1
    assert [meta["counts"][s]["sentences"] for s in ("train", "test")] == [50, 10]
    full = prepare_dataset(DataConfig(source=str(path)), tmp_path / "q", task=NER)
    assert "Café opens" in set(pd.concat([load_prepared(tmp_path / "q").split(s) for s in ("train", "validation", "test")])["text"])
    # a capped split is the uncapped one's first sentences in the cap order: capping only leaves sentences out
    assert set(load_prepared(tmp_path / "p").test["text"]) <= set(load_prepared(tmp_path / "q").test["text"])
    assert full["counts"]["validation"]["sentences"] == meta["counts"]["validation"]["sentences"]


def test_a_conll_file_under_the_classification_task_says_which_task_it_needs(tmp_path: Path) -> None:
    path = write_conll(tmp_path / "d.conll", make_tagged_sentences(5))
    with pytest.raises(DataError, match=r"looks like a token classification \(CoNLL\) file; set task: token_classification"):
        prepare_dataset(DataConfig(source=str(path)), tmp_path / "p")


def test_min_and_max_chars_apply_to_the_joined_text() -> None:
    raw = _raw([(["Hi"], ["O"]), (["Bob", "is", "here"], ["B-PER", "O", "O"]),
                (["Bob", "is", "over", "there", "now"], ["B-PER", "O", "O", "O", "O"])])
    cleaned, report = clean_sentences(raw, DataConfig(min_chars=3, max_chars=15))
    assert cleaned["text"].tolist() == ["Bob is here"]
    assert (report.counts["too_short"], report.counts["too_long"]) == (1, 1)
