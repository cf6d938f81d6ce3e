"""POST /v1/feedback by the served model's task: an NER model takes checked entities, a classifier a label."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
import pytest

from sftops.config import ServeConfig
from sftops.feedback import FeedbackStore
from sftops.testing.asgi import run_scenario
from sftops.testing.onnx_fakes import make_mean_id_bundle, make_tagger_bundle
from sftops_serving.app import create_app
from sftops_serving.model_store import ModelStore
from sftops_serving.settings import load_settings

TOKEN = "fb-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
TEXT = "Ada  Lovelace moved to London 🎉"  # two spaces, an emoji: offsets count str characters


def serve(tmp_path: Path, bundle: Path, scenario: Callable[[httpx.AsyncClient], Awaitable[None]]) -> list[tuple[str, str]]:
    """Run `scenario` against the app serving `bundle`; the (text, label) rows it stored."""
    settings = load_settings(ServeConfig(), feedback_db=str(tmp_path / "fb.db"), feedback_token=TOKEN, max_wait_ms=1)
    store = ModelStore.from_folder(bundle, device="cpu")
    store.load_initial()
    run_scenario(create_app(settings, store), scenario)
    feedback = FeedbackStore(tmp_path / "fb.db")
    try:
        return [(f.text, f.label) for f in feedback.export()]
    finally:
        feedback.close()


@pytest.fixture(scope="module")
def tagger(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_tagger_bundle(tmp_path_factory.mktemp("tagger") / "bundle", {})  # entity types LOC, PER


def _post(client: httpx.AsyncClient, text: str, entities: list[tuple[int, int, str]] | None = None, **body: object):
    if entities is not None:
        body["entities"] = [{"start": s, "end": e, "type": t} for s, e, t in entities]
    return client.post("/v1/feedback", json={"text": text, **body}, headers=AUTH)


def test_ner_feedback_stores_entities_snapped_to_words_once(tagger: Path, tmp_path: Path) -> None:
    async def scenario(client: httpx.AsyncClient) -> None:
        first = await _post(client, TEXT, [(0, 13, "PER"), (23, 29, "LOC")])
        assert first.status_code == 200 and first.json()["stored"] is True, first.text
        again = await _post(client, TEXT, [(23, 27, "LOC"), (0, 3, "PER")])  # "Lond" -> London; "Ada" alone differs
        assert again.status_code == 200 and again.json()["stored"] is True
        same = await _post(client, TEXT, [(23, 26, "LOC"), (0, 13, "PER")])  # = the first, in another order
        assert same.json() == {"id": first.json()["id"], "stored": False}
        none = await _post(client, "nothing to see here", [])  # a text holding no entity is a correction too
        assert none.status_code == 200 and none.json()["stored"] is True

    rows = serve(tmp_path, tagger, scenario)
    assert rows == [
        (TEXT, '[{"end":13,"start":0,"type":"PER"},{"end":29,"start":23,"type":"LOC"}]'),
        (TEXT, '[{"end":3,"start":0,"type":"PER"},{"end":29,"start":23,"type":"LOC"}]'),
        ("nothing to see here", "[]"),
    ]


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({"entities": [(0, 3, "ORG")]}, "type 'ORG', not one of the model's entity types ['LOC', 'PER']"),
        ({"entities": [(0, 13, "PER"), (5, 20, "LOC")]}, "entities 0:13 and 5:20 overlap"),
        ({"entities": [(3, 5, "PER")]}, "entity 3:5 ('  ') holds no word, only whitespace"),
        ({"entities": [(14, 16, "LOC"), (17, 19, "LOC")]}, "fall in the same word 'moved'; an entity is whole words"),
        ({"entities": [(20, 40, "LOC")]}, "ends past the text"),
        ({"entities": [(5, 3, "LOC")]}, "must be greater than its start"),
        ({"label": "LOC"}, 'this model tags entities: send "entities"'),
    ],
)
def test_ner_feedback_is_refused_with_a_one_line_reason(tagger: Path, tmp_path: Path, body: dict, reason: str) -> None:
    async def scenario(client: httpx.AsyncClient) -> None:
        entities = body.get("entities")
        resp = await _post(client, TEXT, entities, **{k: v for k, v in body.items() if k != "entities"})
        assert resp.status_code == 422, resp.text
        detail = resp.json()["detail"]
        assert isinstance(detail, str) and reason in detail and "\n" not in detail, detail

    assert serve(tmp_path, tagger, scenario) == []


def test_a_classifier_refuses_entities_and_still_takes_labels(tmp_path: Path) -> None:
    bundle = make_mean_id_bundle(tmp_path / "clf")

    async def scenario(client: httpx.AsyncClient) -> None:
        refused = await _post(client, TEXT, [(0, 3, "PER")])
        assert refused.status_code == 422
        assert 'this model classifies whole texts: send "label"' in refused.json()["detail"]
        assert (await _post(client, TEXT, label="positive")).status_code == 200
        assert (await _post(client, TEXT, label="happy")).status_code == 422

    assert serve(tmp_path, bundle, scenario) == [(TEXT, "positive")]
