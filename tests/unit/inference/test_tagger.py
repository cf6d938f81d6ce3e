"""The token-classification runtime: entity spans with character offsets into the text as sent, word aggregation,
truncation, and the runtime chosen by the bundle's task. The lookup tagger's logits follow from its table, so every
expected entity is written out by hand."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sftops.bundle import BundleManifest
from sftops.exceptions import InferenceError
from sftops.inference import (
    ClassifierRuntime,
    Entity,
    TaggerRuntime,
    aggregate,
    load_runtime,
    softmax,
    word_tags,
)
from sftops.testing.onnx_fakes import TAGS, default_token_logits, make_mean_id_bundle, make_tagger_bundle

LOC, I_LOC, PER, I_PER = ([5.0 if i == k else 0.0 for i in range(len(TAGS))] for k in (1, 2, 3, 4))
# a word of three sub-tokens (schwarz ##ene ##gger) on which first, average and max disagree
SUBTOKEN_PROBS = np.array([
    [0.50, 0.45, 0.00, 0.05, 0.00],  # first: O (0.50)
    [0.05, 0.75, 0.00, 0.20, 0.00],
    [0.20, 0.00, 0.00, 0.80, 0.00],  # max: this sub-token is the surest: B-PER (0.80)
])  # average: [0.25, 0.40, 0.00, 0.35, 0.00] -> B-LOC (0.40)
TOKEN_LOGITS = {
    "new": LOC, "york": I_LOC, "paris": LOC, "[UNK]": PER, "un": PER,
    **{token: list(np.log(row + 1e-9)) for token, row in zip(["schwarz", "##ene", "##gger"], SUBTOKEN_PROBS)},
}


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_tagger_bundle(tmp_path_factory.mktemp("tagger") / "b", TOKEN_LOGITS, max_length=16)


def _entity(text: str, surface: str, type_: str, score: float) -> Entity:
    start = text.index(surface)
    return Entity(surface, type_, start, start + len(surface), round(score, 6))


def _rounded(entities: list[Entity]) -> list[Entity]:
    return [Entity(e.text, e.type, e.start, e.end, round(e.score, 6)) for e in entities]


def test_entities_carry_offsets_into_the_text_as_sent(bundle: Path) -> None:
    """Tabs, repeated and unicode spaces, accents and an emoji (one [UNK] token) shift nothing."""
    runtime = load_runtime(bundle, device="cpu")
    text = "  Héllo\tNew   York,  \U0001f600 zürich\u3000Paris\n\nok "
    [answer] = runtime.predict([text])
    p = float(softmax(np.array(LOC))[1])
    assert _rounded(answer.entities) == [
        _entity(text, "New   York", "LOC", p),  # the comma after York is a word of its own (sftops.tagging.split_words)
        _entity(text, "\U0001f600", "PER", p),
        _entity(text, "Paris", "LOC", p),
    ]
    for e in answer.entities:
        assert text[e.start : e.end] == e.text
    p_o = float(softmax(default_token_logits(len(TAGS)))[0])
    assert answer.confidence == pytest.approx((4 * p + 4 * p_o) / 8)  # 8 words: 4 in entities, 4 O (the comma is one)
    assert not answer.truncated and answer.n_unknown == 1
    assert answer.n_tokens == 10 and answer.embedding is not None and answer.embedding[1] == 10  # York, = york + ,


def test_a_leading_character_the_tokenizer_drops_is_not_in_the_entity(bundle: Path) -> None:
    runtime = load_runtime(bundle, device="cpu")
    text = "to \u200bparis and \u200b back"  # a zero-width space starts a word; a word of it alone has no tokens
    [answer] = runtime.predict([text])
    assert [(e.text, e.start, e.end) for e in answer.entities] == [("paris", 4, 9)]
    assert runtime.count_tokens([text]) == [2 + 4]


def test_aggregations_disagree_on_a_hand_built_word() -> None:
    positions = [[0, 1, 2]]
    rows = {how: aggregate(SUBTOKEN_PROBS, positions, how)[0] for how in ("first", "average", "max")}
    np.testing.assert_allclose(rows["average"], [0.25, 0.40, 0.00, 0.35, 0.00])
    logits = np.log(SUBTOKEN_PROBS + 1e-12)
    got = {how: word_tags(logits, positions, TAGS, how) for how in ("first", "average", "max")}
    assert {how: (w.tags, round(w.scores[0] or 0, 6)) for how, w in got.items()} == {
        "first": (["O"], 0.5), "average": (["B-LOC"], 0.4), "max": (["B-PER"], 0.8),
    }
    assert aggregate(SUBTOKEN_PROBS, [[], [1]], "max")[0] is None


def test_the_served_aggregation_decides_the_entity(bundle: Path) -> None:
    text = "I met Schwarzenegger"
    found = {how: load_runtime(bundle, device="cpu", aggregation=how).predict([text])[0].entities for how in ("first", "average", "max")}
    assert found["first"] == []
    assert [(e.text, e.type, round(e.score, 6)) for e in found["average"]] == [("Schwarzenegger", "LOC", 0.4)]
    assert [(e.text, e.type, round(e.score, 6)) for e in found["max"]] == [("Schwarzenegger", "PER", 0.8)]
    with pytest.raises(InferenceError, match="aggregation 'mean' is unknown"):
        load_runtime(bundle, device="cpu", aggregation="mean")  # type: ignore[arg-type]


def test_a_stray_inside_tag_starts_an_entity_and_scores_average_over_words(bundle: Path) -> None:
    runtime = load_runtime(bundle, device="cpu")
    [answer] = runtime.predict(["york new york"])  # I-LOC B-LOC I-LOC -> repaired: B-LOC | B-LOC I-LOC
    p = float(softmax(np.array(LOC))[1])
    assert [(e.text, e.type) for e in answer.entities] == [("york", "LOC"), ("new york", "LOC")]
    assert answer.entities[1].score == pytest.approx(p)
    assert runtime.tag_words([["york", "new", "york"]]) == [["B-LOC", "B-LOC", "I-LOC"]]


def test_words_cut_by_truncation_get_no_entity(bundle: Path) -> None:
    """max_length 16: [CLS] + 13 words + [SEP] leaves one place, so "unbelievably" (un ##bel ...) is cut after "un"."""
    runtime = load_runtime(bundle, device="cpu")
    text = "paris " + "x " * 12 + "unbelievably paris"
    [answer] = runtime.predict([text])
    assert answer.truncated and answer.n_tokens == 16
    assert [(e.text, e.start) for e in answer.entities] == [("paris", 0)]  # not PER from "un", not the last paris
    assert runtime.tag_words([text.split()])[0] == ["B-LOC"] + ["O"] * 14
    p = float(softmax(np.array(LOC))[1])
    p_o = float(softmax(default_token_logits(len(TAGS)))[0])
    assert answer.confidence == pytest.approx((p + 12 * p_o) / 13)  # the 13 words read


def test_batches_answer_as_one_by_one_and_empty_texts_are_fine(bundle: Path) -> None:
    runtime = load_runtime(bundle, device="cpu")
    texts = ["new york", "", "   ", "paris " * 20, "Schwarzenegger in paris"]
    together = runtime.predict(texts)
    alone = [runtime.predict([t])[0] for t in texts]
    for a, b in zip(together, alone):
        assert (a.entities, a.truncated, a.n_tokens, a.n_unknown, a.confidence) == (
            b.entities, b.truncated, b.n_tokens, b.n_unknown, b.confidence)
        np.testing.assert_array_equal(a.embedding, b.embedding)
    assert [len(a.entities) for a in together] == [1, 0, 0, 14, 1] and together[3].truncated
    assert together[1].entities == [] and together[1].confidence == 1.0 and together[1].n_tokens == 2
    assert runtime.predict([]) == [] and runtime.tag_words([]) == []
    sentences = [t.split() for t in texts]
    assert runtime.tag_words(sentences, batch_size=2) == runtime.tag_words(sentences)


def test_load_runtime_picks_the_runtime_by_the_bundles_task(bundle: Path, tmp_path: Path) -> None:
    tagger = load_runtime(bundle, device="cpu")
    assert isinstance(tagger, TaggerRuntime) and tagger.task == "token_classification"
    assert tagger.labels == list(TAGS) and tagger.entity_types == ["LOC", "PER"] and tagger.aggregation == "first"
    assert (tagger.variant, tagger.device, tagger.provider, tagger.max_length) == ("fp32", "cpu", "CPUExecutionProvider", 16)
    tagger.warmup()
    classifier = load_runtime(make_mean_id_bundle(tmp_path / "cls"), device="cpu")
    assert isinstance(classifier, ClassifierRuntime) and classifier.task == "classification"


def test_a_classifier_graph_in_a_tagging_bundle_is_refused(tmp_path: Path) -> None:
    folder = make_mean_id_bundle(tmp_path / "b", labels=("O", "B-X", "I-X"))
    manifest = BundleManifest.load(folder)
    manifest.model_copy(update={"task": "token_classification", "entity_types": ["X"]}).save(folder)
    runtime = load_runtime(folder, device="cpu")
    with pytest.raises(InferenceError, match=r"logits of shape \(3, 3\) for 3 texts.*expected \(3, \d+, 3\)"):
        runtime.warmup()


def test_manifests_written_before_token_classification_still_load(bundle: Path, tmp_path: Path) -> None:
    folder = make_mean_id_bundle(tmp_path / "old")
    raw = (folder / "manifest.json").read_text()
    old = raw.replace('"task": "classification",', "").replace('"entity_types": [],', "")
    old = old.replace('"entity_f1": null,', "").replace('"tag_agreement": null', '"argmax_agreement": 0.99').replace(
        '"argmax_agreement": null,', "")
    assert "task" not in old and "entity_f1" not in old
    (folder / "manifest.json").write_text(old)
    manifest = BundleManifest.load(folder)
    assert manifest.task == "classification" and manifest.entity_types == []
    assert manifest.variants["fp32"].argmax_agreement == 0.99
    tagging = BundleManifest.load(bundle)
    assert tagging.task == "token_classification" and tagging.entity_types == ["LOC", "PER"]
