"""A new champion that cannot be loaded or warmed up never replaces the served one (real ONNX Runtime, real registry).

Model `guarded` in its own SQLite registry: version 1 good, 2 a corrupt tokenizer file, 3 logits of a
different width than the label map (the ONNX graph declares the class dimension symbolic, so only
running it shows the mismatch), 4 NaN outputs, 5 good (weights flipped).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest

from sftops.config import ServeConfig
from sftops.exceptions import ServingError
from sftops.registry import ModelRef
from sftops.testing.asgi import run_scenario
from sftops.testing.onnx_fakes import BIAS, WEIGHT, BundleRegistry, make_bundle_registry, make_mean_id_bundle
from sftops_serving.app import create_app
from sftops_serving.model_store import ModelStore
from sftops_serving.settings import load_settings

NAME = "guarded"
TOKEN = "admin"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
BROKEN = {
    "2": "cannot load the tokenizer",
    "3": "logits of shape (3, 3) for 3 texts, but the label map has 2 labels",
    "4": "'logits' output is not finite",
}


def _symbolic_classes(bundle: Path) -> None:
    """Make the logits' class dimension unknown until run time, as in a graph exported with dynamic axes.

    ORT infers a static width through MatMul, so the logits pass through a Slice whose end comes
    from the input (max of the attention mask, times 3): the same values, a width no one can see.
    """
    import onnx
    from onnx import helper, numpy_helper

    model = onnx.load(str(bundle / "model.onnx"))
    graph = model.graph
    next(n for n in graph.node if n.output[0] == "logits").output[0] = "logits_full"
    graph.initializer.extend([numpy_helper.from_array(np.array(x, dtype=np.int64), n)
                              for n, x in (("three", [3]), ("zero", [0]), ("one", [1]))])
    graph.node.extend([
        helper.make_node("ReduceMax", ["attention_mask"], ["mask_max"], keepdims=0),
        helper.make_node("Mul", ["mask_max", "three"], ["width"]),
        helper.make_node("Slice", ["logits_full", "zero", "width", "one"], ["logits"]),
    ])
    graph.output[0].CopyFrom(helper.make_tensor_value_info("logits", onnx.TensorProto.FLOAT, ["batch", "classes"]))
    onnx.checker.check_model(model)
    onnx.save(model, str(bundle / "model.onnx"))


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory) -> BundleRegistry:
    root = tmp_path_factory.mktemp("guarded")
    good = make_mean_id_bundle(root / "v1")
    corrupt_tokenizer = make_mean_id_bundle(root / "v2")
    (corrupt_tokenizer / "tokenizer.json").write_text('{"version": "1.0", "model": {"type": "Word')  # cut short
    wrong_shape = make_mean_id_bundle(root / "v3", labels=("negative", "positive"))  # the model still has 3 outputs
    _symbolic_classes(wrong_shape)
    nan = make_mean_id_bundle(root / "v4", weight=np.array([np.nan, 0.0, 0.0], dtype=np.float32))
    flipped = make_mean_id_bundle(root / "v5", weight=-WEIGHT, bias=-BIAS)
    return make_bundle_registry(root, NAME, [good, corrupt_tokenizer, wrong_shape, nan, flipped])


@pytest.fixture
def champion(guarded: BundleRegistry) -> Iterator[BundleRegistry]:
    """The registry, with the champion put back on version 1 after the test."""
    guarded.point("champion", "1")
    yield guarded
    guarded.point("champion", "1")


@pytest.mark.parametrize("bad", sorted(BROKEN))
def test_a_new_champion_that_cannot_load_leaves_the_old_one_serving(champion: BundleRegistry, tmp_path: Path, bad: str) -> None:
    serve = load_settings(ServeConfig(), cache_dir=str(tmp_path / "cache"), feedback_db=str(tmp_path / "fb.db"),
                          admin_token=TOKEN, poll_interval_s=3600)
    store = ModelStore(ModelRef(NAME, alias="champion"), tracking_uri=champion.uri, cache_dir=serve.cache_dir, device="cpu")
    store.load_initial()

    async def scenario(client: httpx.AsyncClient) -> None:
        before = (await client.post("/v1/predict", json={"text": "hello"})).json()["predictions"][0]
        champion.point("champion", bad)
        reload = await client.post("/v1/admin/reload", headers=AUTH)
        assert reload.status_code == 502, reload.text
        detail = reload.json()["detail"]
        assert f"version {bad} could not be loaded" in detail and BROKEN[bad] in detail and "still serving version 1" in detail
        after = (await client.post("/v1/predict", json={"text": "hello"})).json()["predictions"][0]
        assert after == before and after["version"] == "1"
        health = (await client.get("/health")).json()
        assert (health["status"], health["version"]) == ("degraded", "1")
        assert f"version {bad} could not be loaded" in health["detail"] and BROKEN[bad] in health["detail"]
        metrics = (await client.get("/metrics")).text
        assert "sftops_model_load_failures_total 1.0" in metrics and "sftops_model_swaps_total 1.0" in metrics

        champion.point("champion", "5")  # a good version arrives: it loads, and the server is healthy again
        assert (await client.post("/v1/admin/reload", headers=AUTH)).json() == {"swapped": True, "version": "5"}
        assert (await client.get("/health")).json()["status"] == "ok"
        flipped = (await client.post("/v1/predict", json={"text": "hello"})).json()["predictions"][0]
        assert flipped["version"] == "5" and flipped["label"] != before["label"]

    run_scenario(create_app(serve, store), scenario)


def test_a_broken_version_is_retried_with_a_capped_doubling_delay(champion: BundleRegistry, tmp_path: Path) -> None:
    tries: list[str] = []
    store = ModelStore(ModelRef(NAME, alias="champion"), tracking_uri=champion.uri, cache_dir=tmp_path, device="cpu")
    store.on_load_failure = lambda version, _reason: tries.append(version)
    store.retry_base_s, store.retry_max_s = 0.4, 0.8
    store.load_initial()
    champion.point("champion", "2")

    with pytest.raises(ServingError, match="version 2 could not be loaded"):
        store.check()
    assert "failed 1 time(s), next try in 0 s" in store.load_failure
    assert store.check() is False and tries == ["2"]  # backing off: not tried again at once
    time.sleep(0.45)
    with pytest.raises(ServingError, match=r"failed 2 time\(s\), next try in 1 s"):  # 0.8 s
        store.check()
    time.sleep(0.45)
    assert store.check() is False and tries == ["2", "2"]  # 0.45 s < 0.8 s
    time.sleep(0.4)
    with pytest.raises(ServingError, match=r"failed 3 time\(s\)"):  # capped at 0.8 s, not 1.6 s
        store.check()
    with pytest.raises(ServingError, match=r"failed 4 time\(s\)"):
        store.check(force=True)  # an admin's reload does not wait
    assert tries == ["2"] * 4

    champion.point("champion", "4")  # a newer (also broken) version is tried at once, counted from 1
    with pytest.raises(ServingError, match=r"version 4 could not be loaded.*failed 1 time\(s\)"):
        store.check()
    champion.point("champion", "1")  # the alias goes back to the served version: nothing is wrong any more
    assert store.check() is False and store.load_failure is None and store.problems is None
    assert store.current.info.version == "1" and tries == ["2"] * 4 + ["4"]


def test_start_with_a_broken_champion_serves_the_last_good_cached_version(champion: BundleRegistry, tmp_path: Path) -> None:
    ModelStore(ModelRef(NAME, alias="champion"), tracking_uri=champion.uri, cache_dir=tmp_path, device="cpu").load_initial()  # caches 1
    champion.point("champion", "3")
    restarted = ModelStore(ModelRef(NAME, alias="champion"), tracking_uri=champion.uri, cache_dir=tmp_path, device="cpu")
    assert restarted.load_initial().info.version == "1"
    assert restarted.problems and "version 3 could not be loaded" in restarted.problems
    assert "still serving version 1" in restarted.problems
    with pytest.raises(ServingError, match="version 3 could not be loaded"):  # nothing cached to fall back on
        ModelStore(ModelRef(NAME, alias="champion"), tracking_uri=champion.uri, cache_dir=tmp_path / "empty", device="cpu").load_initial()
