"""The `data` section: where the dataset comes from, how it is cleaned and split."""

from __future__ import annotations

import logging
import math
from typing import Any, Literal

from pydantic import Field, PositiveInt, model_validator

from ._augment import AugmentConfig
from ._base import Section

log = logging.getLogger(__name__)


class SplitFractions(Section):
    """Fractions of the cleaned data that go to each split; they must sum to 1."""

    train: float = Field(0.8, gt=0, lt=1)
    validation: float = Field(0.1, gt=0, lt=1)
    test: float = Field(0.1, gt=0, lt=1)

    @model_validator(mode="after")
    def _sum_to_one(self) -> SplitFractions:
        total = self.train + self.validation + self.test
        if not math.isclose(total, 1.0, abs_tol=1e-6):
            raise ValueError(
                f"train + validation + test must sum to 1, got {self.train} + "
                f"{self.validation} + {self.test} = {total:g}"
            )
        return self


class SplitCaps(Section):
    """Optional per-split maximum sizes (stratified, in a stable hashed order), for quick profiles."""

    train: PositiveInt | None = None
    validation: PositiveInt | None = None
    test: PositiveInt | None = None


class SplitSources(Section):
    """One source per split, for datasets that come split (published benchmarks): their splits are kept as they are.

    `train` is required; a split left out is carved from train by the text hash, in the
    proportions of `data.split`."""

    train: str = Field(min_length=1)
    validation: str | None = None
    test: str | None = None


SplitName = Literal["train", "validation", "test"]

HF_DATASETS_PREFIX = "hf://datasets/"


class HubSource(Section):
    """A dataset on the Hugging Face Hub, read through `datasets` and the local Hub cache (offline once cached).

    Written `{hub: owner/name, config: ..., revision: ..., splits: {train: train, ...}}`, or as the string
    `hf://datasets/owner/name[@revision]`. Its own splits are kept as one source per split is: a split
    left out of `splits` (or, without `splits`, one the dataset lacks) is carved from train by the text hash."""

    hub: str = Field(min_length=1, pattern=r"^[A-Za-z0-9][\w.-]*(/[A-Za-z0-9][\w.-]*)?$",
                     description="The dataset's Hub id, e.g. 'cardiffnlp/tweet_eval' or 'imdb'.")
    config: str | None = Field(None, min_length=1, description="The dataset's configuration (subset), e.g. 'sentiment'; "
                               "null = its default.")
    revision: str | None = Field(None, min_length=1, description="Branch, tag or commit hash; null = the default "
                                 "branch. The resolved commit is recorded in data/source.json and the run tags.")
    splits: dict[SplitName, str] | None = Field(
        None, description="Our split -> the dataset's split name, e.g. {train: train, validation: dev}; null = the "
        "dataset's splits whose names data.split_values lists. Must name a train split.")

    @model_validator(mode="after")
    def _train_given(self) -> HubSource:
        if self.splits is not None and "train" not in self.splits:
            raise ValueError(f"splits must name the dataset's training split (train: ...), got {self.splits}")
        return self

    @property
    def name(self) -> str:
        """The source as one string: `hf://datasets/owner/name[@revision]`, plus ` (config)` when set."""
        text = HF_DATASETS_PREFIX + self.hub + (f"@{self.revision}" if self.revision else "")
        return text + (f" ({self.config})" if self.config else "")


def _default_split_values() -> dict[SplitName, list[str]]:
    return {"train": ["train"], "validation": ["validation", "valid", "val", "dev"], "test": ["test"]}


class DataConfig(Section):
    """Dataset source, columns, cleaning rules and the split."""

    source: str | SplitSources | HubSource = Field(
        "builtin:tweets",
        description="'builtin:tweets' or 'builtin:ner-tweets', or a path to a CSV, JSON Lines or Parquet file, "
        "a CoNLL file (.conll/.txt/.iob/.bio, token classification), or a folder written by datasets' save_to_disk; "
        "or {train: PATH, validation: PATH, test: PATH}: the dataset's own splits, kept as they are; "
        "or a Hugging Face Hub dataset: 'hf://datasets/owner/name[@revision]' or "
        "{hub: owner/name, config: ..., revision: ..., splits: {train: ..., validation: ..., test: ...}}.",
    )
    text_column: str = Field("text", min_length=1)
    label_column: str = Field("sentiment", min_length=1)
    tokens_column: str = Field(
        "tokens", min_length=1, description="Token classification: the column holding each sentence's token list (JSONL, "
        "Parquet, datasets folders)."
    )
    tags_column: str = Field(
        "tags", min_length=1, description="Token classification: the column holding each sentence's tag list "
        "(names, or ClassLabel ids in a datasets folder)."
    )
    tag_scheme: Literal["auto", "iob2", "iob1", "bioes"] = Field(
        "auto", description="Token classification: the tagging scheme of the source; converted to IOB2. auto = BIOES when "
        "S-/E- tags occur, else IOB2 (an I-X that follows no X is repaired to B-X and counted)."
    )
    split_column: str | None = Field(
        None, description="A column naming each row's split (e.g. 'split'): the dataset's own split is kept; "
        "its values are mapped by split_values."
    )
    split_values: dict[SplitName, list[str]] = Field(
        default_factory=_default_split_values,
        description="With split_column: the column values that mean each split (compared case-insensitively); "
        "rows with any other value are dropped and counted.",
    )
    encoding: str | None = Field(
        None, description="Text encoding of a CSV/JSONL file; null = UTF-8 with repair of mis-decoded bytes."
    )
    min_chars: PositiveInt | None = Field(None, description="Drop texts shorter than this (after cleaning).")
    max_chars: PositiveInt | None = Field(None, description="Drop texts longer than this (after cleaning).")
    labels: list[str] | None = Field(
        None, description="Classification: label order (ids 0..K-1). Token classification: the entity types kept "
        "(tags of other types become O). null = every label / type in the data, sorted, which is stable."
    )
    extra_sources: list[str] = Field(
        default_factory=list,
        description="More files (or glob patterns) with the same columns, appended to `source` before cleaning; "
        "a pattern matching nothing adds nothing (sftops retrain writes its feedback file here).",
    )
    extra_sources_split: Literal["train", "hash"] = Field(
        "train",
        description="Where rows from extra_sources (e.g. labelled feedback) go: 'train' = the training split only; "
        "'hash' = split by the same text hash as the source rows.",
    )
    feedback_conflict: Literal["prefer_source", "prefer_feedback", "drop_both"] = Field(
        "prefer_source",
        description="An extra-source row whose text is in the source with another label: keep the source label "
        "(drop the extra row), relabel the source row in place, or drop both. Counted in meta.json either way.",
    )
    split_salt: str = Field(
        "sftops",
        min_length=1,
        description="Salt of the text hash that puts each example in its split; changing it re-splits everything.",
    )
    split: SplitFractions = SplitFractions()
    max_samples: SplitCaps = SplitCaps()
    augment: AugmentConfig = AugmentConfig()

    @model_validator(mode="before")
    @classmethod
    def _seed_is_deprecated(cls, values: Any) -> Any:
        """`data.seed` chose yesterday's shuffled split; it is accepted (existing params files keep working), warned about, and ignored."""
        if isinstance(values, dict) and "seed" in values:
            values = {k: v for k, v in values.items() if k != "seed"}
            log.warning(
                "data.seed no longer affects the split (each example's split is a salted hash of its text, "
                "data.split_salt) and is ignored: remove it from params.yaml. This project re-splits once."
            )
        return values

    @model_validator(mode="before")
    @classmethod
    def _hub_url(cls, values: Any) -> Any:
        """`hf://datasets/owner/name[@revision]` is the typed {hub, revision} form written as one string."""
        source = values.get("source") if isinstance(values, dict) else None
        if isinstance(source, str) and source.startswith(HF_DATASETS_PREFIX):
            repo, _, revision = source[len(HF_DATASETS_PREFIX):].partition("@")
            values = {**values, "source": {"hub": repo, "revision": revision or None}}
        return values

    @model_validator(mode="after")
    def _lengths(self) -> DataConfig:
        if self.min_chars is not None and self.max_chars is not None and self.min_chars > self.max_chars:
            raise ValueError(f"min_chars ({self.min_chars}) must not exceed max_chars ({self.max_chars})")
        if self.labels is not None and len(set(self.labels)) != len(self.labels):
            raise ValueError(f"labels must be unique, got {self.labels}")
        if self.text_column == self.label_column:
            raise ValueError("text_column and label_column must differ")
        if self.tokens_column == self.tags_column:
            raise ValueError("tokens_column and tags_column must differ")
        if isinstance(self.source, SplitSources) and self.split_column is not None:
            raise ValueError("give the dataset's own splits either as one source per split or as split_column, not both")
        if isinstance(self.source, HubSource) and self.split_column is not None:
            raise ValueError("a Hub dataset's splits are mapped by data.source.splits, not data.split_column; remove it")
        seen: dict[str, str] = {}
        for split, values in self.split_values.items():
            for value in values:
                other = seen.setdefault(value.strip().lower(), split)
                if other != split:
                    raise ValueError(f"split_values: {value!r} is listed for both {other} and {split}")
        return self

    @property
    def hub_source(self) -> HubSource | None:
        """`source` when it is a Hugging Face Hub dataset, else None."""
        return self.source if isinstance(self.source, HubSource) else None

    def sources(self) -> list[str]:
        """Every path or builtin name `source` names (one, or one per given split; a Hub dataset's `hf://` name)."""
        if isinstance(self.source, HubSource):
            return [self.source.name]
        if isinstance(self.source, SplitSources):
            return [s for s in (self.source.train, self.source.validation, self.source.test) if s is not None]
        return [self.source]
