"""The drift reference kept in a serving bundle: what unseen in-distribution texts look like to the exported model.

Written by `sftops export` (drift_reference.json plus one embeddings .npy per
ONNX variant, because int8 embeddings differ from fp32 ones) and read by the
server, so no torch and no transformers here (probabilities come from `sftops.inference.softmax`,
the server's own). A classifier's reference comes from logits (`build_reference`); an NER
model's from the runtime's own tagged answers (`build_tagging_reference`), so it counts entities,
confidence, tokens and unknown tokens exactly as the server's monitor will.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Protocol

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from ..exceptions import RegistryError
from ..inference import softmax
from ..records import load_record
from ..tagging import entity_types, spans_of
from ._profile import CONFIDENCE_DECIMALS

if TYPE_CHECKING:
    from ._profile import ReferenceProfile

DRIFT_REFERENCE_FILE = "drift_reference.json"


class DriftReference(BaseModel):
    """Samples and counts from a split the model did not train on, as the bundle's model and tokenizer.json see them."""

    model_config = ConfigDict(extra="forbid")

    format: Literal[1] = 1
    task: Literal["classification", "token_classification"] = "classification"
    split: str = Field("validation", description="the prepared split the texts came from")
    n: int = Field(description="texts sampled from the split")
    labels: list[str] = Field(description="the model's class names, or an NER model's tag names")
    max_length: int
    entity_types: list[str] | None = Field(None, description="NER: the entity types the counts below are over")
    label_counts: list[int] = Field(
        description="predicted-label counts (fp32 model), in label-id order; NER: predicted entities per entity type")
    true_label_counts: list[int] = Field(description="gold-label (NER: gold entity) counts of the same sample")
    entities_per_text: list[int] | None = Field(None, description="NER: predicted entities per sampled text (fp32 model)")
    confidences: list[float] = Field(
        description="max class probability per sampled text (fp32 model); NER: mean over words of the chosen tag's probability")
    token_lengths: list[int] = Field(
        description="tokens per text as the bundle's tokenizer.json encodes it (special tokens in, truncated at max_length)"
    )
    unknown_texts: int = Field(description="texts holding at least one unknown token")
    unknown_tokens: int = Field(description="unknown tokens over all sampled texts")
    total_tokens: int
    unk_token_id: int | None
    embedding_dim: int
    embeddings_files: dict[str, str] = Field(
        description="variant name -> .npy of float16 pooled embeddings (n, embedding_dim) computed by that variant"
    )

    def save(self, folder: str | Path) -> Path:
        path = Path(folder) / DRIFT_REFERENCE_FILE
        path.write_text(self.model_dump_json(indent=1) + "\n", encoding="utf-8")
        return path

    @classmethod
    def load(cls, folder: str | Path, file: str = DRIFT_REFERENCE_FILE) -> DriftReference:
        """Read a bundle's drift reference; a missing or malformed file is a RegistryError."""
        return load_record(cls, Path(folder) / file, RegistryError,
                           missing="bundle has no drift reference; re-export the model (`sftops export`)",
                           malformed="malformed drift reference; re-export the model")

    def embeddings(self, folder: str | Path, variant: str) -> np.ndarray:
        """The (n, embedding_dim) float32 reference embeddings computed by `variant` (fp32 if it has none)."""
        file = self.embeddings_files.get(variant) or self.embeddings_files.get("fp32")
        if file is None:
            raise RegistryError(f"drift reference has embeddings for {sorted(self.embeddings_files)}, not {variant!r}")
        try:
            array = np.load(Path(folder) / file, allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise RegistryError(f"{Path(folder) / file}: unreadable drift embeddings ({exc}); re-export the model") from None
        if array.shape != (self.n, self.embedding_dim):
            raise RegistryError(f"{file}: shape {array.shape}, expected {(self.n, self.embedding_dim)}; re-export the model")
        return array.astype(np.float32)

    def profile(self, folder: str | Path, variant: str) -> ReferenceProfile:
        """The drift monitor's `ReferenceProfile` for a server running `variant`."""
        from ._profile import ReferenceProfile

        return ReferenceProfile(
            embeddings=self.embeddings(folder, variant),
            label_counts=np.asarray(self.label_counts),
            confidences=np.asarray(self.confidences),
            token_lengths=np.asarray(self.token_lengths),
            unknown_hits=self.unknown_texts,
            unknown_trials=self.n,
            unknown_unit="text",
            entities_per_text=None if self.entities_per_text is None else np.asarray(self.entities_per_text),
        )


class _Typed(Protocol):
    @property
    def type(self) -> str: ...


class TaggedAnswer(Protocol):
    """What the reference needs of an NER runtime's answer for one text (sftops.inference.TaggedText)."""

    @property
    def entities(self) -> Sequence[_Typed]: ...
    @property
    def confidence(self) -> float: ...
    @property
    def embedding(self) -> np.ndarray | None: ...
    @property
    def n_tokens(self) -> int: ...
    @property
    def n_unknown(self) -> int: ...


def _save_embeddings(embeddings: Mapping[str, np.ndarray], folder: str | Path) -> tuple[dict[str, str], int]:
    """One float16 .npy per variant in `folder`: {variant: file name}, and the embedding width they share."""
    dims = {np.shape(a)[1] for a in embeddings.values()}
    if not dims:
        raise ValueError("the drift reference needs pooled embeddings, and no variant gave any")
    if len(dims) != 1:
        raise ValueError(f"variants disagree on embedding size: {dims}")
    files = {}
    for variant, array in embeddings.items():
        files[variant] = f"drift_embeddings.{variant}.npy"
        np.save(Path(folder) / files[variant], np.asarray(array, dtype=np.float16), allow_pickle=False)
    return files, dims.pop()


def build_reference(
    *,
    token_ids: Sequence[Sequence[int]],
    unk_token_id: int | None,
    logits: np.ndarray,
    true_labels: Sequence[int],
    embeddings: dict[str, np.ndarray],
    labels: Sequence[str],
    max_length: int,
    folder: str | Path,
    split: str = "validation",
) -> DriftReference:
    """Summarise a sample of `split` and write its embeddings (one float16 .npy per variant) into `folder`."""
    k = len(labels)
    probs = softmax(np.asarray(logits))
    unknown = [sum(1 for t in ids if t == unk_token_id) for ids in token_ids]
    files, dim = _save_embeddings(embeddings, folder)
    return DriftReference(
        split=split,
        n=len(token_ids),
        labels=list(labels),
        max_length=max_length,
        label_counts=np.bincount(probs.argmax(axis=1), minlength=k).tolist(),
        true_label_counts=np.bincount(np.asarray(true_labels, dtype=int), minlength=k).tolist(),
        confidences=[round(float(p), CONFIDENCE_DECIMALS) for p in probs.max(axis=1)],
        token_lengths=[len(ids) for ids in token_ids],
        unknown_texts=sum(1 for u in unknown if u),
        unknown_tokens=sum(unknown),
        total_tokens=sum(len(ids) for ids in token_ids),
        unk_token_id=unk_token_id,
        embedding_dim=dim,
        embeddings_files=files,
    )


def build_tagging_reference(
    *,
    tagged: Mapping[str, Sequence[TaggedAnswer]],
    true_tags: Sequence[Sequence[str]],
    labels: Sequence[str],
    max_length: int,
    folder: str | Path,
    unk_token_id: int | None = None,
    split: str = "validation",
) -> DriftReference:
    """An NER model's reference from its runtime's answers on a sample of `split` (the same texts for every variant).

    `tagged`: variant -> TaggerRuntime.predict(texts), "fp32" among them (its entities, confidences and token
    counts are kept; every variant's embeddings are). `true_tags`: the sample's gold IOB2 tags, for the gold
    entity counts. `labels`: the model's tag names. Writes the embeddings into `folder`.
    """
    if "fp32" not in tagged:
        raise ValueError(f"the fp32 variant's answers are needed, got {sorted(tagged)}")
    answers = tagged["fp32"]
    types = entity_types(labels)
    index = {t: i for i, t in enumerate(types)}
    counts = np.zeros(len(types), dtype=int)
    for answer in answers:
        for entity in answer.entities:
            counts[index[entity.type]] += 1
    gold = np.zeros(len(types), dtype=int)
    for tags in true_tags:
        for span in spans_of(tags):
            gold[index[span.type]] += 1
    embeddings = {}
    for variant, variant_answers in tagged.items():
        if any(a.embedding is None for a in variant_answers):
            continue  # a model without the pooled output: no embedding detector
        embeddings[variant] = np.stack([np.asarray(a.embedding) for a in variant_answers])
    files, dim = _save_embeddings(embeddings, folder)
    return DriftReference(
        task="token_classification",
        split=split,
        n=len(answers),
        labels=list(labels),
        max_length=max_length,
        entity_types=types,
        label_counts=counts.tolist(),
        true_label_counts=gold.tolist(),
        entities_per_text=[len(a.entities) for a in answers],
        confidences=[round(float(a.confidence), CONFIDENCE_DECIMALS) for a in answers],
        token_lengths=[int(a.n_tokens) for a in answers],
        unknown_texts=sum(1 for a in answers if a.n_unknown),
        unknown_tokens=sum(int(a.n_unknown) for a in answers),
        total_tokens=sum(int(a.n_tokens) for a in answers),
        unk_token_id=unk_token_id,
        embedding_dim=dim,
        embeddings_files=files,
    )
