"""Export of the real MiniLM (head fitted in seconds) through real ONNX Runtime, logged to a real MLflow server."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from mlflow import MlflowClient

from sftops.bundle import BundleManifest
from sftops.config import ExportConfig, Params, TrackingConfig
from sftops.data.labels import LabelMap
from sftops.data.prepared import PreparedData
from sftops.defaults import builtin_model_dir
from sftops.drift.reference import DriftReference
from sftops.export import export_bundle, log_export
from sftops.testing import make_text_dataset
from sftops.tracking import connect

LABELS = ("negative", "neutral", "positive")


@pytest.fixture(scope="module")
def data() -> PreparedData:
    label_map = LabelMap(LABELS)
    frame = make_text_dataset(260, LABELS, seed=1).rename(columns={"label": "label_name"})
    frame["label"] = label_map.encode(frame["label_name"])
    return PreparedData(train=frame.iloc[:180].reset_index(drop=True), validation=frame.iloc[180:200].reset_index(drop=True),
                        test=frame.iloc[200:].reset_index(drop=True), label_map=label_map, meta={})


@pytest.fixture(scope="module")
def minilm_classifier(data: PreparedData, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """MiniLM with its head fitted by logistic regression on pooler outputs: a trained model in ~5 s, no Trainer."""
    import torch
    from sklearn.linear_model import LogisticRegression
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    label_map = data.label_map
    tokenizer = AutoTokenizer.from_pretrained(builtin_model_dir())
    model = AutoModelForSequenceClassification.from_pretrained(
        builtin_model_dir(), num_labels=3, id2label=label_map.id2label, label2id=label_map.label2id
    ).eval()
    with torch.inference_mode():
        batch = tokenizer(data.train["text"].tolist(), padding=True, truncation=True, max_length=64, return_tensors="pt")
        pooled = model.bert(**batch).pooler_output.numpy()
    head = LogisticRegression(max_iter=2000).fit(pooled, data.train["label"])
    model.classifier.weight.data = torch.tensor(head.coef_, dtype=torch.float32)
    model.classifier.bias.data = torch.tensor(head.intercept_, dtype=torch.float32)
    target = tmp_path_factory.mktemp("minilm") / "model"
    model.save_pretrained(target)
    tokenizer.save_pretrained(target)
    label_map.save(target / "label_map.json")
    return target


@pytest.fixture(scope="module")
def exported(minilm_classifier: Path, data: PreparedData, tmp_path_factory: pytest.TempPathFactory):
    target = tmp_path_factory.mktemp("bundle") / "onnx"
    cfg = ExportConfig(variants=["int8", "fp16"], drift_samples=100, require_speedup=False, min_agreement=0.95)
    return target, export_bundle(minilm_classifier, data, cfg, max_length=64, target=target)


def test_fp32_parity_and_trained_head(exported) -> None:
    _, report = exported
    fp32 = report.manifest.variants["fp32"]
    assert report.torch_f1 >= 0.9  # the fitted head really classifies
    assert report.parity.max_abs_diff <= 1e-3 and report.parity.embedding_max_abs_diff <= 1e-3
    assert report.parity.argmax_agreement == 1.0 and fp32.f1_delta == pytest.approx(0.0, abs=1e-9)


def test_int8_and_fp16_accuracy_deltas_are_small(exported) -> None:
    _, report = exported
    int8, fp16 = report.manifest.variants["int8"], report.manifest.variants["fp16"]
    assert abs(int8.f1_delta) <= 0.05 and int8.argmax_agreement >= 0.95 and int8.max_abs_diff < 1.0
    assert abs(fp16.f1_delta) <= 0.02 and fp16.argmax_agreement >= 0.98 and fp16.max_abs_diff < 0.05
    assert int8.published and fp16.published and fp16.device == "cuda"


def test_bundle_loads_like_the_server_loads_it(exported, data: PreparedData) -> None:
    folder, _report = exported
    manifest = BundleManifest.load(folder)
    assert manifest.published("cpu") == ["int8", "fp32"] and manifest.published("cuda") == ["fp16", "fp32"]
    reference = DriftReference.load(folder)
    n_validation = min(100, len(data.validation))  # the validation split, capped by drift_samples
    assert reference.embedding_dim == 384 and reference.n == n_validation and reference.split == "validation"
    fp32, int8 = reference.embeddings(folder, "fp32"), reference.embeddings(folder, "int8")
    cosine = (fp32 * int8).sum(1) / np.linalg.norm(fp32, axis=1) / np.linalg.norm(int8, axis=1)
    assert cosine.min() > 0.95  # int8 embeddings are close to, but not the same as, fp32 ones
    assert manifest.train_keys(folder) == set(data.keys("train"))  # for the gate's overlap count


def test_export_metrics_reach_the_mlflow_server(exported, mlflow_server_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_server_url)
    _, report = exported
    params = Params(tracking=TrackingConfig(uri=mlflow_server_url, experiment="export-test"))
    connect(params.tracking)  # log_export logs where MLflow is connected (the export stage connects)
    run_id = log_export(report, params)
    run = MlflowClient(mlflow_server_url).get_run(run_id)
    assert run.data.metrics["int8.f1_delta"] == pytest.approx(report.manifest.variants["int8"].f1_delta)
    assert run.data.metrics["parity.max_abs_diff"] == pytest.approx(report.parity.max_abs_diff)
    assert run.data.tags["sftops.stage"] == "export" and "sftops.params_hash" in run.data.tags
    artifacts = [a.path for a in MlflowClient(mlflow_server_url).list_artifacts(run_id, "export")]
    assert artifacts == ["export/manifest.json"]


# token classification: a tiny-BERT tagger with a fresh head, exported with every CPU variant, served by ONNX Runtime
NER_MAX_LENGTH = 24
NER_TEXTS = [
    "Anna  flew to\tParis, France \U0001f600 yesterday",
    "New York   is big and Zürich is small",
    "unbelievably long " * 8,  # cut at NER_MAX_LENGTH, the last word read only in part
    "",
    "   \t ",
]


@pytest.fixture(scope="module")
def ner_exported(tiny_bert_dir: Path, tmp_path_factory: pytest.TempPathFactory):
    from sftops.testing.ner_data import prepared_ner
    from sftops.testing.tiny_bert import save_token_classifier

    model_dir = save_token_classifier(tiny_bert_dir, tmp_path_factory.mktemp("tagger") / "model", max_length=NER_MAX_LENGTH)
    target = tmp_path_factory.mktemp("ner-bundle") / "onnx"
    cfg = ExportConfig(variants=["optimized", "int8"], drift_samples=50, require_speedup=False, max_f1_drop=1.0, min_agreement=0.0)
    return model_dir, target, export_bundle(model_dir, prepared_ner(), cfg, max_length=NER_MAX_LENGTH, target=target)


def _torch_entities(model_dir: Path, text: str) -> list[tuple[str, str, int, int, float]]:
    """The PyTorch model's entities, decoded by hand: each word's tag from its first sub-token, IOB2 repaired,
    spans of whole words; a word truncation cut (any sub-token) is O."""
    import torch
    from transformers import AutoModelForTokenClassification, AutoTokenizer

    from sftops.tagging import repair_iob2, spans_of, split_words

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForTokenClassification.from_pretrained(model_dir).eval()
    words = split_words(text)
    texts = [w.text for w in words]
    cut = tokenizer(texts, is_split_into_words=True, truncation=True, max_length=NER_MAX_LENGTH, return_tensors="pt")
    full = tokenizer(texts, is_split_into_words=True)
    with torch.inference_mode():
        probs = model(**cut).logits.softmax(-1)[0].numpy()
    kept_ids, full_ids = cut.word_ids(0), full.word_ids(0)
    tags, scores = [], []
    for i in range(len(words)):
        positions = [p for p, w in enumerate(kept_ids) if w == i]
        if not positions or len(positions) != full_ids.count(i):
            tags.append("O")
            scores.append(None)
            continue
        best = int(probs[positions[0]].argmax())
        tags.append(model.config.id2label[best])
        scores.append(float(probs[positions[0]][best]))
    tags, _ = repair_iob2(tags)
    return [
        (text[words[s.start].start : words[s.end - 1].end], s.type, words[s.start].start, words[s.end - 1].end,
         float(np.mean(scores[s.start : s.end])))
        for s in spans_of(tags)
    ]


def test_a_token_classifier_exports_with_parity_and_serves_the_torch_models_spans(ner_exported) -> None:
    from sftops.inference import TaggerRuntime, load_runtime

    model_dir, folder, report = ner_exported
    assert report.metric == "entity_f1" and report.parity.words and report.parity.argmax_agreement == 1.0
    assert report.parity.max_abs_diff <= 1e-4 and report.manifest.variants["fp32"].tag_agreement == 1.0
    runtime = load_runtime(folder, device="cpu", variant="fp32")
    assert isinstance(runtime, TaggerRuntime) and runtime.provider == "CPUExecutionProvider"
    answers = runtime.predict(NER_TEXTS)
    assert [a.truncated for a in answers] == [False, False, True, False, False]
    found = 0
    for text, answer in zip(NER_TEXTS, answers):
        expected = _torch_entities(model_dir, text)
        got = [(e.text, e.type, e.start, e.end, e.score) for e in answer.entities]
        assert [g[:4] for g in got] == [x[:4] for x in expected], text
        np.testing.assert_allclose([g[4] for g in got], [x[4] for x in expected], atol=1e-4)
        found += len(got)
    assert found >= 3  # the fresh head does tag entities, so the comparison is not of empty lists


def test_the_int8_tagger_stays_close_to_fp32(ner_exported) -> None:
    _, _, report = ner_exported
    int8 = report.manifest.variants["int8"]
    assert int8.tag_agreement is not None and int8.tag_agreement >= 0.8 and int8.max_abs_diff is not None
    assert int8.f1_delta == pytest.approx(int8.entity_f1 - report.torch_f1)
