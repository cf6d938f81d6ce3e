"""The gate scores what will serve (int8 on CPU when published) and counts test texts each compared model trained on."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from mlflow import MlflowClient

from sftops.bundle import TRAIN_KEYS_FILE, BundleManifest, VariantInfo
from sftops.data.keys import text_key
from sftops.data.prepared import load_prepared
from sftops.registry import audit_history, promote, registry_client, score_bundle

LEAKED = 7  # test texts the "leaky" champion claims to have trained on


@pytest.fixture(scope="module")
def bundles(tiny_project, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """hybrid: the good fp32 model with the constant model's int8 graph published beside it; leaky: good + 7 test keys."""
    from sftops.export._variants import build_int8

    base = tmp_path_factory.mktemp("gate-bundles")
    hybrid = Path(shutil.copytree(tiny_project.good_bundle, base / "hybrid"))
    build_int8(tiny_project.constant_bundle / "model.onnx", hybrid / "model.int8.onnx")
    manifest = BundleManifest.load(hybrid)
    variants = {**manifest.variants, "int8": VariantInfo(file="model.int8.onnx", device="cpu")}
    manifest.model_copy(update={"variants": variants}).save(hybrid)

    leaky = Path(shutil.copytree(tiny_project.good_bundle, base / "leaky"))
    test = load_prepared(tiny_project.root / "data/prepared").test
    keys = (leaky / TRAIN_KEYS_FILE).read_text().split()
    (leaky / TRAIN_KEYS_FILE).write_text("\n".join(sorted({*keys, *map(text_key, test["text"][:LEAKED])})) + "\n")

    keyless = Path(shutil.copytree(tiny_project.good_bundle, base / "keyless"))
    manifest = BundleManifest.load(keyless)
    manifest.model_copy(update={"train_keys_file": None}).save(keyless)
    (keyless / TRAIN_KEYS_FILE).unlink()
    return {"hybrid": hybrid, "leaky": leaky, "keyless": keyless}


def _test_split(tiny_project):
    test = load_prepared(tiny_project.root / "data/prepared").test
    return list(test["text"]), list(test["label_name"])


def test_the_gate_scores_the_variant_a_cpu_server_serves(tiny_project, bundles) -> None:
    texts, labels = _test_split(tiny_project)
    constant = score_bundle(tiny_project.constant_bundle, texts, labels)
    served = score_bundle(bundles["hybrid"], texts, labels, device="cpu")
    assert (served.variant, served.device) == ("int8", "cpu")
    served_f1 = served.metric("macro_f1")
    assert served_f1 == pytest.approx(constant.metric("macro_f1")) and served_f1 < 0.5  # int8 here is the constant model
    forced = score_bundle(bundles["hybrid"], texts, labels, device="cpu", variant="fp32")  # serve.variant: fp32
    assert forced.variant == "fp32" and forced.metric("macro_f1") == pytest.approx(1.0, abs=0.02)
    assert score_bundle(bundles["hybrid"], texts, labels, device="auto").variant == "int8"  # no GPU here: CPU's choice


def test_each_score_counts_the_test_texts_that_model_trained_on(tiny_project, bundles) -> None:
    texts, labels = _test_split(tiny_project)
    train = set(load_prepared(tiny_project.root / "data/prepared").train["text"].map(text_key))
    expected_normal = sum(text_key(t) in train for t in texts)
    assert score_bundle(tiny_project.good_bundle, texts, labels).train_overlap == expected_normal
    assert score_bundle(bundles["leaky"], texts, labels).train_overlap == expected_normal + LEAKED
    assert score_bundle(bundles["keyless"], texts, labels).train_overlap is None


def test_registration_reports_overlap_and_scored_variant_of_both_models(
    server, tiny_project, bundles, bundle_version, project_params, register
) -> None:
    texts, _ = _test_split(tiny_project)
    train = set(load_prepared(tiny_project.root / "data/prepared").train["text"].map(text_key))
    normal = sum(text_key(t) in train for t in texts)
    assert normal == 0  # the fixture's splits share no text, so the normal path reports 0
    name = "gate-overlap"
    bundle_version(server, name, bundles["leaky"])
    client = registry_client(server)
    promote(client, name, 1, "a champion that trained on some of today's test texts")
    root = tiny_project.root
    paths = {"model_dir": root / "models/model", "eval_file": root / "metrics/eval.json",
             "prepared_dir": root / "data/prepared", "project_dir": root}
    reg = register(project_params(server, name), bundle_dir=bundles["hybrid"], **paths)

    assert reg.version == "2" and reg.test_overlap == {"2": 0, "1": LEAKED}
    assert reg.variants == {"2": "int8", "1": "fp32"} and reg.devices == {"2": "cpu", "1": "cpu"}
    assert reg.decision == "rejected"  # its served int8 graph is the constant model: the fp32 score would have won
    entry = audit_history(client, name)[-1]
    assert (entry.action, entry.test_overlap, entry.variants) == ("gate", {"2": 0, "1": LEAKED}, reg.variants)
    tags = MlflowClient(server).get_model_version(name, "2").tags
    assert tags["sftops.gate.variant"] == "int8" and tags["sftops.gate.test_overlap"] == "0"
    assert tags["sftops.gate.champion_version"] == "1" and tags["sftops.gate.champion_test_overlap"] == str(LEAKED)
    metrics = MlflowClient(server).get_run(reg.run_id).data.metrics
    assert metrics["gate_test_overlap"] == 0 and metrics["gate_champion_test_overlap"] == LEAKED

    keyless = register(project_params(server, name), bundle_dir=bundles["keyless"], **paths)
    assert keyless.test_overlap == {"3": None, "1": LEAKED} and keyless.variants == {"3": "fp32", "1": "fp32"}
    assert MlflowClient(server).get_model_version(name, "3").tags["sftops.gate.test_overlap"] == "unknown"


def test_a_champion_moved_while_the_gate_scored_is_scored_before_deciding(
    server, tiny_project, bundle_version, project_params
) -> None:
    from sftops.registry import TestSplit, apply_gate, score_against_champion

    name = "gate-moved"
    bundle_version(server, name, tiny_project.constant_bundle)
    bundle_version(server, name, tiny_project.good_bundle)
    challenger = bundle_version(server, name, tiny_project.good_bundle)
    client = registry_client(server)
    promote(client, name, 1, "the weak champion the gate starts scoring against")
    cfg = project_params(server, name).registry
    texts, labels = _test_split(tiny_project)
    test = TestSplit(texts, labels)
    scores = score_against_champion(client, cfg, tiny_project.good_bundle, test)
    assert scores.champion_version == "1" and scores.champion.metric("macro_f1") < 0.5
    promote(client, name, 2, "someone else's decision lands while the gate scores")
    entry = apply_gate(client, cfg, challenger, scores, test, "pipeline")
    assert (entry.champion_before, entry.decision, entry.champion_after) == ("2", "rejected", "2")  # not a blind overwrite
    assert entry.scores == {challenger: pytest.approx(1.0, abs=0.02), "2": pytest.approx(1.0, abs=0.02)}
    assert client.get_registered_model(name).aliases["champion"] == "2"
