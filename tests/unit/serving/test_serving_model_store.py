"""serving/model_store.py: model refs, registry resolution into the cache, alias following, offline start."""

from __future__ import annotations

from pathlib import Path

import pytest

from serving.model_store import ModelCache, ModelRef, ModelStore
from sftops.exceptions import ServingError


@pytest.mark.parametrize(
    ("spec", "want"),
    [
        ("m", ModelRef("m", alias="champion")),
        ("m@challenger", ModelRef("m", alias="challenger")),
        ("my-model/12", ModelRef("my-model", version="12")),
    ],
)
def test_model_ref_parse(spec: str, want: ModelRef) -> None:
    assert ModelRef.parse(spec) == want
    assert str(want) in (spec, f"{spec}@champion")


@pytest.mark.parametrize("spec", ["", "m@", "m/x", "m@a/1", "@a"])
def test_model_ref_rejects_bad_specs(spec: str) -> None:
    with pytest.raises(ServingError, match="expected NAME, NAME@ALIAS or NAME/VERSION"):
        ModelRef.parse(spec)


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

    from serving.model_store import INFO_FILE, resolve_info

    ref = ModelRef(registry.name, alias="champion")
    cache = ModelCache(tmp_path)
    client = registry.client()
    info = resolve_info(client, ref)
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
