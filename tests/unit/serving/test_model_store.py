"""serving/model_store.py: model refs (sftops.registry's), registry resolution into the cache, alias following,
offline start, a registry apart from the tracking store (MLFLOW_REGISTRY_URI)."""

from __future__ import annotations

from pathlib import Path

import pytest

from sftops.exceptions import RegistryError, ServingError
from sftops.registry import ModelRef, RegistryUnreachable, resolve_model
from sftops.testing.onnx_fakes import make_mean_id_bundle, register_bundle
from sftops_serving.model_store import ModelCache, ModelStore


@pytest.mark.parametrize(
    ("spec", "want"),
    [
        ("m", ModelRef("m", alias="champion")),
        ("m@challenger", ModelRef("m", alias="challenger")),
        ("my-model/12", ModelRef("my-model", version="12")),
        ("models:/m@challenger", ModelRef("m", alias="challenger")),
        ("models:/my-model/12", ModelRef("my-model", version="12")),
    ],
)
def test_model_ref_parse(spec: str, want: ModelRef) -> None:
    assert ModelRef.parse(spec) == want
    assert str(want) in (spec.removeprefix("models:/"), f"{spec}@champion")
    assert want.uri == f"models:/{want}"


@pytest.mark.parametrize("spec", ["", "m@", "m/x", "m@a/1", "@a", "models:/"])
def test_model_ref_rejects_bad_specs(spec: str) -> None:
    with pytest.raises(RegistryError, match="is not NAME, NAME@ALIAS, NAME/VERSION or models:/NAME@ALIAS"):
        ModelRef.parse(spec)


@pytest.mark.parametrize(("spec", "version"), [("models:/tiny-clf@champion", "1"), ("models:/tiny-clf/2", "2")])
def test_store_serves_models_uris(registry, tmp_path: Path, spec: str, version: str) -> None:
    store = ModelStore(ModelRef.parse(spec), tracking_uri=registry.uri, cache_dir=tmp_path)
    model = store.load_initial()
    assert (model.info.name, model.info.version, model.info.data_hash) == ("tiny-clf", version, "abc123")
    assert model.info.metrics["test_macro_f1"] == pytest.approx({"1": 0.5, "2": 0.6}[version])


@pytest.fixture(scope="module")
def split_stores(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    """(tracking URI, registry URI): runs and their bundles in one SQLite store, model `apart` (champion -> 1) in another."""
    from mlflow import MlflowClient

    root = tmp_path_factory.mktemp("split")
    tracking, registry = f"sqlite:///{root / 'tracking.db'}", f"sqlite:///{root / 'registry.db'}"
    client = MlflowClient(tracking_uri=tracking, registry_uri=registry)
    experiment_id = client.create_experiment("split", artifact_location=(root / "artifacts").as_uri())
    client.create_registered_model("apart")
    bundle = make_mean_id_bundle(root / "b1")
    assert register_bundle(client, experiment_id, "apart", bundle, metrics={"test_macro_f1": 0.7}) == "1"
    client.set_registered_model_alias("apart", "champion", "1")
    return tracking, registry


def test_store_honours_mlflow_registry_uri(split_stores: tuple[str, str], tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    tracking, registry = split_stores
    ref = ModelRef.parse("models:/apart@champion")
    monkeypatch.delenv("MLFLOW_REGISTRY_URI", raising=False)
    with pytest.raises(ServingError, match="cannot serve apart@champion: no registered model named 'apart'"):
        ModelStore(ref, tracking_uri=tracking, cache_dir=tmp_path).load_initial()  # the tracking store has no such model

    monkeypatch.setenv("MLFLOW_REGISTRY_URI", registry)
    model = ModelStore(ref, tracking_uri=tracking, cache_dir=tmp_path).load_initial()
    assert (model.info.version, model.info.data_hash, model.info.metrics) == ("1", "abc123", {"test_macro_f1": 0.7})
    assert (tmp_path / "apart" / "1" / "manifest.json").is_file()


def test_an_unreachable_registry_uri_is_unreachable_not_missing(
    split_stores: tuple[str, str], unreachable_registry: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tracking, registry = split_stores
    ref = ModelRef("apart")
    monkeypatch.setenv("MLFLOW_REGISTRY_URI", registry)
    ModelStore(ref, tracking_uri=tracking, cache_dir=tmp_path).load_initial()  # fills the cache

    monkeypatch.setenv("MLFLOW_REGISTRY_URI", unreachable_registry.replace("http://", "http://user:s3cret@"))
    offline = ModelStore(ref, tracking_uri=tracking, cache_dir=tmp_path)  # tracking answers, the registry does not
    assert offline.load_initial().info.version == "1"
    assert offline.degraded and "registry unreachable at start; serving cached version 1" in offline.degraded
    assert "s3cret" not in offline.degraded
    with pytest.raises(RegistryUnreachable, match="registry did not answer") as caught:
        offline.check()
    assert "s3cret" not in str(caught.value) and "s3cret" not in (offline.last_error or "")


def test_store_resolves_caches_and_follows_the_alias(registry, tmp_path: Path) -> None:
    swaps: list[str] = []
    store = ModelStore(ModelRef(registry.name, alias="champion"), tracking_uri=registry.uri, cache_dir=tmp_path,
                       on_swap=lambda m: swaps.append(m.info.version))
    model = store.load_initial()
    assert (model.info.version, model.info.data_hash, store.degraded) == ("1", "abc123", None)
    assert model.info.metrics["test_macro_f1"] == pytest.approx(0.5)
    assert (tmp_path / registry.name / "1" / "manifest.json").is_file()
    assert store.check() is False  # alias unchanged
    try:
        registry.point("champion", "2")
        old_runtime = store.current.runtime
        assert store.check() is True
        assert store.current.info.version == "2" and swaps == ["1", "2"]
        # the old runtime still answers (in-flight batches finish on it) and the new one answers differently
        assert old_runtime.predict(["hello"])[0].label != store.current.runtime.predict(["hello"])[0].label
    finally:
        registry.point("champion", "1")
    assert ModelCache(tmp_path).cached_info(ModelRef(registry.name, alias="champion")).version == "2"


def test_fixed_version_ref(registry, tmp_path: Path) -> None:
    store = ModelStore(ModelRef(registry.name, version="2"), tracking_uri=registry.uri, cache_dir=tmp_path)
    assert store.load_initial().info.version == "2"
    with pytest.raises(ServingError, match="cannot serve tiny-clf/9"):
        ModelStore(ModelRef(registry.name, version="9"), tracking_uri=registry.uri, cache_dir=tmp_path).load_initial()
    with pytest.raises(ServingError, match="cannot serve tiny-clf@nope"):
        ModelStore(ModelRef(registry.name, alias="nope"), tracking_uri=registry.uri, cache_dir=tmp_path).load_initial()


def test_unreachable_registry_serves_the_cached_model_or_fails_clearly(
    registry, unreachable_registry: str, tmp_path: Path
) -> None:
    ref = ModelRef(registry.name, alias="champion")
    ModelStore(ref, tracking_uri=registry.uri, cache_dir=tmp_path).load_initial()  # fills the cache

    offline = ModelStore(ref, tracking_uri=unreachable_registry, cache_dir=tmp_path)
    assert offline.load_initial().info.version == "1"
    assert offline.degraded and "registry unreachable at start; serving cached version 1" in offline.degraded

    with pytest.raises(ServingError, match=r"registry did not answer.*no cached copy of tiny-clf@champion"):
        ModelStore(ref, tracking_uri=unreachable_registry, cache_dir=tmp_path / "empty").load_initial()


def test_cache_completes_an_old_style_folder_and_refuses_a_foreign_one(registry, tmp_path: Path) -> None:
    import shutil

    from sftops_serving.model_store import INFO_FILE

    ref = ModelRef(registry.name, alias="champion")
    cache = ModelCache(tmp_path)
    client = registry.client()
    info = resolve_model(ref, client=client)
    old_style = cache.version_dir(registry.name, "1")  # an older sftops crashed before writing model_info.json
    shutil.copytree(registry.versions["1"], old_style)
    assert cache.fetch(info, client) == old_style and (old_style / INFO_FILE).is_file()
    assert cache.has(registry.name, "1")

    foreign = tmp_path / "other" / registry.name / "1"  # something else sits where version 1 goes
    foreign.mkdir(parents=True)
    (foreign / "notes.txt").write_text("not a bundle")
    with pytest.raises(ServingError, match="exists but is not a complete cached bundle"):
        ModelCache(tmp_path / "other").fetch(info, client)
    assert [p.name for p in (tmp_path / "other" / registry.name).iterdir()] == ["1"]  # no temp folder left
    assert [p.name for p in foreign.iterdir()] == ["notes.txt"]  # and nothing of it deleted


def test_the_v1_model_body_keeps_its_fields_and_schema_name() -> None:
    from sftops.registry import ResolvedModel
    from sftops_serving.schemas import ModelResponse

    info = ResolvedModel(name="m", version="3", alias="champion", run_id="r", data_hash="d", metrics={"f1": 0.5})
    body = ModelResponse(**info.model_dump(), task="classification", labels=["a", "b"], entity_types=[], max_length=64,
                         variant="int8", provider="CPU")
    assert list(body.model_dump(mode="json")) == ["name", "version", "alias", "run_id", "data_hash", "metrics", "tags",
                                                  "task", "labels", "entity_types", "max_length", "variant", "provider"]
    schema = ModelResponse.model_json_schema()
    assert schema["title"] == "ModelResponse" and set(schema["properties"]) == set(body.model_dump())
