"""data.extra_sources: files (or globs) appended to the main source before cleaning, as retrain's feedback is."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from sftops.config import DataConfig
from sftops.data.sources import load_source
from sftops.exceptions import DataError


def _csv(path: Path, rows: list[tuple[str, str]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows, columns=["body", "tag"]).to_csv(path, index=False)
    return path


def test_extra_sources_are_appended_after_the_main_source(tmp_path: Path) -> None:
    main = _csv(tmp_path / "main.csv", [("good day", "pos"), ("bad day", "neg")])
    _csv(tmp_path / "fb/a.csv", [("Ôtez ça, café ☕", "pos")])
    cfg = DataConfig(source=str(main), text_column="body", label_column="tag", extra_sources=[str(tmp_path / "fb/*.csv")])
    raw = load_source(cfg)
    assert raw.frame["text"].tolist() == ["good day", "bad day", "Ôtez ça, café ☕"]
    assert raw.frame["label"].tolist() == ["pos", "neg", "pos"]


def test_a_glob_matching_nothing_adds_nothing_but_a_missing_file_is_an_error(tmp_path: Path) -> None:
    main = _csv(tmp_path / "main.csv", [("good day", "pos"), ("bad day", "neg")])
    base = {"source": str(main), "text_column": "body", "label_column": "tag"}
    assert len(load_source(DataConfig(**base, extra_sources=[str(tmp_path / "none/*.csv")])).frame) == 2
    with pytest.raises(DataError, match=r"missing\.csv does not exist"):
        load_source(DataConfig(**base, extra_sources=[str(tmp_path / "missing.csv")]))


def test_builtin_tweets_keep_their_repairs_and_extra_rows_are_untouched(tmp_path: Path) -> None:
    extra = tmp_path / "fb.csv"
    raw = load_source(DataConfig())
    assert raw.frame["mojibake"].all() and not raw.frame["extra"].any()
    pd.DataFrame({"text": ["Ù_ keep me"], "sentiment": ["positive"]}).to_csv(extra, index=False)
    merged = load_source(DataConfig(extra_sources=[str(extra)]))
    assert len(merged.frame) == len(raw.frame) + 1
    last = merged.frame.iloc[-1]
    assert (last["text"], last["mojibake"], last["extra"]) == ("Ù_ keep me", False, True)
    assert merged.frame["mojibake"].iloc[:-1].all()  # the builtin rows keep their repair rules
