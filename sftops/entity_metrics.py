"""Entity-level metrics of tag sequences: micro precision / recall / F1 (exact span and type), per type, token accuracy.

One module of its own (not in sftops.evaluation): training's validation metric, evaluation, export's
variant checks and the promotion gate all score with it, and an edit to evaluation's baselines or
plots must not make DVC rerun training.

seqeval in strict IOB2 mode does the counting (an entity counts only when its span and type both
match). Predicted tags are first repaired as conlleval reads them (an I-X after no X starts an
entity), the same decoding the server applies before it returns spans, so a metric and a served
answer never disagree about what the model found.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .tagging import repair_iob2


def entity_metrics(true: Sequence[Sequence[str]], pred: Sequence[Sequence[str]]) -> dict[str, Any]:
    """{entity_precision, entity_recall, entity_f1, token_accuracy, per_type: {type: {precision, recall, f1, support}}}.

    `true` and `pred` hold one IOB2 tag list per sentence, of equal lengths."""
    from seqeval.metrics import classification_report
    from seqeval.scheme import IOB2

    if len(true) != len(pred):
        raise ValueError(f"{len(true)} gold sentences but {len(pred)} predicted")
    gold = [list(t) for t in true]
    guess = [repair_iob2(p)[0] for p in pred]
    for i, (g, p) in enumerate(zip(gold, guess)):
        if len(g) != len(p):
            raise ValueError(f"sentence {i}: {len(g)} gold tags but {len(p)} predicted")
    n_tokens = sum(len(g) for g in gold)
    correct = sum(a == b for g, p in zip(gold, guess) for a, b in zip(g, p))
    report: dict[str, Any] = {}
    if any(any(t != "O" for t in g) for g in gold) or any(any(t != "O" for t in p) for p in guess):
        report = classification_report(gold, guess, mode="strict", scheme=IOB2, output_dict=True, zero_division=0)
    micro = report.get("micro avg", {"precision": 0.0, "recall": 0.0, "f1-score": 0.0})
    per_type = {
        name: {"precision": float(row["precision"]), "recall": float(row["recall"]), "f1": float(row["f1-score"]),
               "support": int(row["support"])}
        for name, row in sorted(report.items())
        if not name.endswith(" avg")
    }
    return {
        "entity_precision": float(micro["precision"]),
        "entity_recall": float(micro["recall"]),
        "entity_f1": float(micro["f1-score"]),
        "token_accuracy": correct / n_tokens if n_tokens else 0.0,
        "per_type": per_type,
    }
