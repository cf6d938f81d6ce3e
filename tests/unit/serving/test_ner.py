"""serving/app.py with a token-classification (NER) bundle in process: entity spans, aggregation, schema, swaps."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
import pytest

from sftops.config import ServeConfig
from sftops.registry import ModelRef
from sftops.testing.asgi import run_scenario
from sftops.testing.onnx_fakes import BundleRegistry, make_bundle_registry, make_mean_id_bundle
from sftops.testing.serving_tagger import ENTITY_TYPES, TAGS, make_serving_tagger, tag_probability
from sftops_serving.app import create_app
from sftops_serving.model_store import ModelStore
from sftops_serving.settings import load_settings

TOKEN = "s3cret"


@pytest.fixture(scope="module")
def tagger(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_serving_tagger(tmp_path_factory.mktemp("tagger") / "bundle")


def serve_folder(
    tmp_path: Path, bundle: Path, scenario: Callable[[httpx.AsyncClient], Awaitable[None]], **settings: object
) -> None:
    """Run `scenario` against an in-process app serving the bundle folder, with serve `settings` as the CLI passes them."""
    serve = load_settings(ServeConfig(), **{"feedback_db": str(tmp_path / "fb.db"), "admin_token": TOKEN, "max_wait_ms": 1,
                                            **settings})
    store = ModelStore.from_folder(bundle, device="cpu", aggregation=serve.aggregation)
    store.load_initial()
    run_scenario(create_app(serve, store), scenario)


def span(text: str, part: str, type_: str, score: float, occurrence: int = 0) -> dict:
    """The entity answer for the `occurrence`-th `part` of `text`: offsets found in the text as sent."""
    start = -1
    for _ in range(occurrence + 1):
        start = text.index(part, start + 1)
    return {"text": part, "type": type_, "start": start, "end": start + len(part), "score": pytest.approx(score, abs=1e-5)}


def test_predict_answers_entity_spans_with_offsets_into_the_text_sent(tagger: Path, tmp_path: Path) -> None:
    texts = [
        "I flew from PARIS to  New   York 😀 yesterday",  # original case, repeated spaces inside an entity, emoji after
        "😀🎉 paris\tand paris again",  # emoji before (one str index each), a tab, the same word twice
        "nothing to see here",
    ]
    new_york = (tag_probability("new", "B-LOC") + tag_probability("york", "I-LOC")) / 2
    paris = tag_probability("paris", "B-LOC")
    want = [
        [span(texts[0], "PARIS", "LOC", paris), span(texts[0], "New   York", "LOC", new_york)],
        [span(texts[1], "paris", "LOC", paris), span(texts[1], "paris", "LOC", paris, occurrence=1)],
        [],
    ]

    async def scenario(client: httpx.AsyncClient) -> None:
        resp = await client.post("/v1/predict", json={"texts": texts})
        assert resp.status_code == 200, resp.text
        got = resp.json()["predictions"]
        assert [p["entities"] for p in got] == want
        assert all(p["truncated"] is False and (p["model"], p["version"]) == ("bundle", "local") for p in got)
        assert all(texts[i][e["start"]:e["end"]] == e["text"] for i, p in enumerate(got) for e in p["entities"])
        assert set(got[0]) == {"entities", "truncated", "model", "version"}  # no classifier fields
        one = (await client.post("/v1/predict", json={"text": texts[0]})).json()["predictions"]
        assert one == got[:1]

        info = (await client.get("/v1/model")).json()
        assert (info["task"], info["entity_types"], info["labels"]) == ("token_classification", list(ENTITY_TYPES), list(TAGS))
        health = (await client.get("/health")).json()
        assert (health["status"], health["task"]) == ("ok", "token_classification")
        metrics = (await client.get("/metrics")).text
        assert 'sftops_entities_total{type="LOC"} 6.0' in metrics  # 4, then 2
        assert 'type="PER"' not in metrics and "sftops_predictions_total{" not in metrics

    serve_folder(tmp_path, tagger, scenario)


@pytest.mark.parametrize(("aggregation", "person"), [("first", "Ada"), ("average", "Ada Lovelace"), ("max", "Ada Lovelace")])
def test_serve_aggregation_reaches_the_runtime(tagger: Path, tmp_path: Path, aggregation: str, person: str) -> None:
    # "Lovelace" is love + ##lace: its first piece says O, its pieces together say I-PER
    text = "Ada Lovelace wrote in London"

    async def scenario(client: httpx.AsyncClient) -> None:
        entities = (await client.post("/v1/predict", json={"text": text})).json()["predictions"][0]["entities"]
        assert [(e["text"], e["type"], e["start"]) for e in entities] == [(person, "PER", 0), ("London", "LOC", 22)]

    serve_folder(tmp_path, tagger, scenario, aggregation=aggregation)


def test_ner_texts_are_batched_truncated_and_rejected_like_classification(tagger: Path, tmp_path: Path) -> None:
    long_text = "Paris " + "word " * 40 + "London"  # London is past max_length (32 tokens)

    async def scenario(client: httpx.AsyncClient) -> None:
        texts = [long_text, "London", "new york", "hello", "Paris"]
        got = (await client.post("/v1/predict", json={"texts": texts})).json()["predictions"]
        assert [p["truncated"] for p in got] == [True, False, False, False, False]
        assert [[e["text"] for e in p["entities"]] for p in got] == [["Paris"], ["London"], ["new york"], [], ["Paris"]]
        metrics = (await client.get("/metrics")).text
        assert "sftops_batch_size_count 3.0" in metrics and "sftops_batch_size_sum 5.0" in metrics  # 2 + 2 + 1

    serve_folder(tmp_path, tagger, scenario, max_batch_size=2, max_wait_ms=200, workers=1)

    async def rejecting(client: httpx.AsyncClient) -> None:
        resp = await client.post("/v1/predict", json={"texts": ["Paris", long_text]})
        assert resp.status_code == 413 and "texts[1] has" in resp.json()["detail"], resp.text

    serve_folder(tmp_path, tagger, rejecting, on_too_long="reject")


def test_bad_requests_to_an_ner_model_get_the_same_422(tagger: Path, tmp_path: Path) -> None:
    bad = [
        ({}, 'send exactly one of "text"'),
        ({"text": "   "}, "text: String should match pattern"),
        ({"texts": []}, "texts: List should have at least 1 item"),
        ({"text": "Paris", "entities": []}, "entities: Extra inputs are not permitted"),
    ]

    async def scenario(client: httpx.AsyncClient) -> None:
        for body, message in bad:
            resp = await client.post("/v1/predict", json=body)
            assert resp.status_code == 422 and message in resp.json()["detail"], (body, resp.text)

    serve_folder(tmp_path, tagger, scenario, max_texts=4)


def test_the_openapi_schema_shows_both_answer_shapes(tagger: Path, tmp_path: Path) -> None:
    async def scenario(client: httpx.AsyncClient) -> None:
        schema = (await client.get("/openapi.json")).json()
        components = schema["components"]["schemas"]
        items = components["PredictResponse"]["properties"]["predictions"]["items"]
        assert items == {"anyOf": [{"$ref": "#/components/schemas/TextPrediction"}, {"$ref": "#/components/schemas/TextEntities"}]}
        assert components["TextEntities"]["properties"]["entities"]["items"] == {"$ref": "#/components/schemas/EntitySpan"}
        assert set(components["EntitySpan"]["required"]) == {"text", "type", "start", "end", "score"}
        assert components["TextEntities"]["examples"][0]["entities"][0]["type"] == "PER"
        assert components["TextPrediction"]["examples"][0]["label"] == "positive"
        assert {"task", "entity_types"} <= set(components["ModelResponse"]["required"])
        feedback = components["FeedbackRequest"]
        assert [sorted(e) for e in feedback["examples"]] == [["label", "text"], ["entities", "text"]]

    serve_folder(tmp_path, tagger, scenario)


@pytest.fixture(scope="module")
def mixed_registry(tmp_path_factory: pytest.TempPathFactory) -> BundleRegistry:
    """Model `mixed` with version 1 a classifier and version 2 a tagger; alias champion -> 1."""
    root = tmp_path_factory.mktemp("mixed")
    return make_bundle_registry(root, "mixed", [make_mean_id_bundle(root / "b1"), make_serving_tagger(root / "b2")])


def test_a_hot_swap_may_change_the_task(mixed_registry: BundleRegistry, tmp_path: Path) -> None:
    auth = {"Authorization": f"Bearer {TOKEN}"}

    async def scenario(client: httpx.AsyncClient) -> None:
        before = (await client.post("/v1/predict", json={"text": "Paris"})).json()["predictions"][0]
        assert before["version"] == "1" and "label" in before and "entities" not in before
        assert (await client.get("/v1/model")).json()["entity_types"] == []
        mixed_registry.point("champion", "2")
        try:
            assert (await client.post("/v1/admin/reload", headers=auth)).json() == {"swapped": True, "version": "2"}
        finally:
            mixed_registry.point("champion", "1")
        after = (await client.post("/v1/predict", json={"text": "Paris"})).json()["predictions"][0]
        assert (after["version"], after["entities"][0]["text"], after["entities"][0]["type"]) == ("2", "Paris", "LOC")
        info = (await client.get("/v1/model")).json()
        assert (info["version"], info["task"], info["entity_types"]) == ("2", "token_classification", list(ENTITY_TYPES))
        metrics = (await client.get("/metrics")).text
        assert 'sftops_entities_total{type="LOC"} 1.0' in metrics and "sftops_predictions_total{" in metrics

    serve = load_settings(ServeConfig(), cache_dir=str(tmp_path / "cache"), feedback_db=str(tmp_path / "fb.db"),
                          admin_token=TOKEN, poll_interval_s=3600)
    store = ModelStore(ModelRef.parse("mixed"), tracking_uri=mixed_registry.uri, cache_dir=serve.cache_dir)
    store.load_initial()
    run_scenario(create_app(serve, store), scenario)
