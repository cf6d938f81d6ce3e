"""Small synthetic NER sentences (PER, LOC) in the prepared-data layout, learnable from the words themselves.

Some entity words split into several sub-tokens ("oberammergau" -> obe ##ram ##mer ##gau) and
some entities span two words, so label alignment and multi-word spans are exercised.
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING

import pandas as pd

from ..tagging import tag_names, tags_of

if TYPE_CHECKING:
    from ..config import Params
    from ..data import LabelMap, PreparedData

NER_TYPES = ("LOC", "PER")

_ENTITIES = {
    "PER": [["Anna"], ["Boris"], ["Farah", "Okafor"], ["Dmitri", "Lindqvist"], ["Chen"], ["Zapatero"]],
    "LOC": [["Paris"], ["Oslo"], ["Oberammergau"], ["Ouagadougou"], ["New", "York"], ["Lima"]],
}
_TEMPLATES = [
    "{PER} flew to {LOC} on monday",
    "we met {PER} in {LOC} yesterday",
    "{LOC} is far from {LOC}",
    "the weather in {LOC} was awful",
    "{PER} and {PER} called again",
    "nothing happened today at all",
    "my flight was late again",
]


def ner_label_map() -> LabelMap:
    """The tag set of NER_TYPES: O, B-LOC, I-LOC, B-PER, I-PER."""
    from ..data import LabelMap

    return LabelMap(tuple(tag_names(NER_TYPES)))


def make_ner_frame(n: int = 120, *, seed: int = 0) -> pd.DataFrame:
    """`n` unique sentences with columns text, tokens, tags (IOB2) and tag_ids, as prepare writes them."""
    from ..tagging import Span

    ids = ner_label_map().label2id
    rng = random.Random(seed)
    rows: list[dict[str, object]] = []
    seen: set[str] = set()
    while len(rows) < n:
        tokens: list[str] = []
        spans: list[Span] = []
        for part in rng.choice(_TEMPLATES).split():
            if part in ("{PER}", "{LOC}"):
                kind = part[1:-1]
                words = rng.choice(_ENTITIES[kind])
                spans.append(Span(kind, len(tokens), len(tokens) + len(words)))
                tokens.extend(words)
            else:
                tokens.append(part)
        tokens.append(f"#{rng.randrange(10**5)}")
        text = " ".join(tokens)
        if text in seen:
            continue
        seen.add(text)
        tags = tags_of(len(tokens), spans)
        rows.append({"text": text, "tokens": tokens, "tags": tags, "tag_ids": [ids[t] for t in tags]})
    return pd.DataFrame(rows)


def prepared_ner(n_train: int = 80, n_validation: int = 20, n_test: int = 20, *, seed: int = 0) -> PreparedData:
    """PreparedData of synthetic NER splits in memory, with a token-classification meta (no files written)."""
    from ..data import PreparedData

    label_map = ner_label_map()
    frame = make_ner_frame(n_train + n_validation + n_test, seed=seed)
    cuts = {"train": (0, n_train), "validation": (n_train, n_train + n_validation),
            "test": (n_train + n_validation, len(frame))}
    splits = {name: frame.iloc[a:b].reset_index(drop=True) for name, (a, b) in cuts.items()}
    meta = {"task": "token_classification", "label_map": label_map.to_json(), "entity_types": list(NER_TYPES),
            "counts": {name: len(split) for name, split in splits.items()}}
    return PreparedData(label_map=label_map, meta=meta, **splits)


def as_token_classification(params: Params) -> Params:
    """`params` with task token_classification and that task's default metrics (gate and trials)."""
    from ..config import parse_params

    raw = params.model_dump(mode="json")
    raw["task"] = "token_classification"
    raw["registry"].pop("primary_metric", None)
    raw["tune"].pop("metric", None)
    return parse_params(raw, source="token-classification params")
