"""The gate's scoring of a token-classification bundle: entity F1 and token accuracy of the served variant on the test
sentences' words, with hand-known answers from the lookup tagger; and the refusals when task and data differ."""

from __future__ import annotations

from pathlib import Path

import pytest

from sftops.exceptions import RegistryError
from sftops.registry import BundleScore, TestSplit, score_split, score_tagger_bundle
from sftops.testing.onnx_fakes import make_mean_id_bundle, make_tagger_bundle

LOC, I_LOC, PER = ([5.0 if i == k else 0.0 for i in range(5)] for k in (1, 2, 3))
# the tagger finds "paris" (LOC), "new york" (LOC) and "anna" (PER); it misses "oslo" and tags "berlin" as PER
TOKEN_LOGITS = {"paris": LOC, "new": LOC, "york": I_LOC, "anna": PER, "berlin": PER}
SENTENCES = [
    (["anna", "flew", "to", "paris"], ["B-PER", "O", "O", "B-LOC"]),  # both right
    (["new", "york", "and", "oslo"], ["B-LOC", "I-LOC", "O", "B-LOC"]),  # oslo missed
    (["berlin", "again"], ["B-LOC", "O"]),  # wrong type: one missed, one spurious
]


def _split(sentences=SENTENCES) -> TestSplit:
    tokens = [words for words, _ in sentences]
    return TestSplit([" ".join(w) for w in tokens], [], "hash", tokens=tokens, tags=[tags for _, tags in sentences])


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_tagger_bundle(tmp_path_factory.mktemp("ner-gate") / "b", TOKEN_LOGITS, max_length=16)


def test_a_tagging_bundle_is_scored_by_entity_f1_on_the_test_words(bundle: Path) -> None:
    score = score_split(bundle, _split(), batch_size=2)
    # gold 5 entities, predicted 4 of which 3 right: P 3/4, R 3/5, F1 2/3; words 10, right 8 (oslo, berlin wrong)
    assert score.task == "token_classification" and score.n == 3
    assert score.metric("entity_precision") == pytest.approx(0.75) and score.metric("entity_recall") == pytest.approx(0.6)
    assert score.metric("entity_f1") == pytest.approx(2 / 3) and score.metric("token_accuracy") == pytest.approx(0.8)
    assert (score.variant, score.device, score.train_overlap) == ("fp32", "cpu", None)


def test_the_score_is_the_served_aggregations(tmp_path: Path) -> None:
    """ou ##aga ##dou ##go ##u: only the last sub-token says LOC, so only max finds the entity."""
    folder = make_tagger_bundle(tmp_path / "b", {"##u": [0.0, 9.0, 0.0, 0.0, 0.0]})
    split = _split([(["ouagadougou"], ["B-LOC"])])
    assert score_tagger_bundle(folder, split, aggregation="first").metric("entity_f1") == 0.0
    assert score_tagger_bundle(folder, split, aggregation="max").metric("entity_f1") == 1.0


def test_task_and_data_must_agree(bundle: Path, tmp_path: Path) -> None:
    with pytest.raises(RegistryError, match="a token_classification model cannot be scored on classification labels"):
        score_split(bundle, TestSplit(["anna"], ["positive"]))
    classifier = make_mean_id_bundle(tmp_path / "cls")
    with pytest.raises(RegistryError, match="a classification model cannot be scored on tagged sentences"):
        score_split(classifier, _split())
    with pytest.raises(RegistryError, match=r"the test split has tags \['B-ORG'\] the model does not know"):
        score_split(bundle, _split([(["acme"], ["B-ORG"])]))


def test_a_metric_of_another_task_is_named_in_the_error() -> None:
    score = BundleScore({"entity_f1": 0.5, "token_accuracy": 0.9}, n=3, task="token_classification")
    with pytest.raises(RegistryError, match=r"scored by \['entity_f1', 'token_accuracy'\], not 'macro_f1'"):
        score.metric("macro_f1")
