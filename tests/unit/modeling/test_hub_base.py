"""model.base as a Hugging Face Hub id, resolved offline from a local Hub cache; and quiet weight loading."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from sftops.config import ModelConfig, parse_params
from sftops.data import LabelMap
from sftops.exceptions import ModelError
from sftops.modeling import build_classifier, check_base, quiet_weight_loading, resolve_base
from sftops.testing import make_text_dataset
from sftops.testing.hub_cache import cache_dataset, cache_model, point_hub_cache
from sftops.tracking import lineage_tags


@pytest.fixture
def hub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return point_hub_cache(monkeypatch, tmp_path / "hf")


def test_a_hub_id_resolves_to_its_cached_snapshot_at_the_branch_or_commit(hub: Path, tiny_bert_dir: Path) -> None:
    commit = cache_model(hub, "owner/tiny-bert", tiny_bert_dir)
    resolved = resolve_base(ModelConfig(base="owner/tiny-bert"))
    assert (resolved.hub_id, resolved.revision, resolved.path.name) == ("owner/tiny-bert", commit, commit)
    assert (resolved.path / "config.json").read_bytes() == (tiny_bert_dir / "config.json").read_bytes()
    assert resolve_base(ModelConfig(base="owner/tiny-bert", revision=commit)).revision == commit
    assert check_base(ModelConfig(base="owner/tiny-bert")) == resolved.path
    assert resolve_base(ModelConfig(base=str(tiny_bert_dir))).path == tiny_bert_dir  # a local folder as before


@pytest.mark.parametrize(("base", "revision", "shown"), [
    ("owner/absent", None, "owner/absent"),
    ("owner/tiny-bert", "v9", "owner/tiny-bert@v9"),
])
def test_an_id_missing_from_the_cache_offline_is_a_one_line_error(hub: Path, tiny_bert_dir: Path, base: str,
                                                                   revision: str | None, shown: str) -> None:
    cache_model(hub, "owner/tiny-bert", tiny_bert_dir)
    with pytest.raises(ModelError) as info:
        check_base(ModelConfig(base=base, revision=revision))
    message = str(info.value)
    assert "\n" not in message and message.startswith(f"model.base: {shown} is not in the local Hugging Face cache")
    assert "HF_HUB_OFFLINE" in message


def test_a_revision_for_a_local_folder_is_refused(tiny_bert_dir: Path) -> None:
    with pytest.raises(ModelError, match=r"model\.revision applies to a Hugging Face Hub model id"):
        resolve_base(ModelConfig(base=str(tiny_bert_dir), revision="main"))


def test_a_hub_model_builds_quietly_and_the_run_tags_name_both_commits(
        hub: Path, tiny_bert_dir: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    model_commit = cache_model(hub, "owner/tiny-bert", tiny_bert_dir)
    data_commit = cache_dataset(hub, "owner/texts", {"train": make_text_dataset(9)})
    params = parse_params({"model": {"base": "owner/tiny-bert", "max_length": 32},
                           "data": {"source": "hf://datasets/owner/texts", "label_column": "label"}})
    with caplog.at_level(logging.INFO):
        model = build_classifier(params.model, LabelMap(("a", "b", "c")), seed=0)
        with quiet_weight_loading():
            logging.getLogger("transformers.modeling_utils").warning("a real warning")
    assert model.config.num_labels == 3
    shown = [r.getMessage() for r in caplog.records]
    assert not any("LOAD REPORT" in m for m in shown) and "a real warning" in shown
    assert "loaded owner/tiny-bert: 2 new head weight(s), 0 resized, 0 checkpoint weight(s) unused" in shown
    tags = lineage_tags(params, cwd=tmp_path)
    assert (tags["sftops.base_revision"], tags["sftops.data_revision"]) == (model_commit, data_commit)
