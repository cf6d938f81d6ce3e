"""Which entity types a tagger confuses, and which entities it misses or invents: a confusion over entities.

Entities are matched by their exact word span. A gold entity with a predicted entity on the same span is
a (gold type, predicted type) pair — the diagonal when the types agree; a gold entity with none is
(type, MISSED); a predicted entity on no gold span is (SPURIOUS, type). A boundary error therefore
counts twice, once missed and once spurious, as it does in entity F1. Predictions are repaired first
(conlleval), the same decoding entity_metrics and the server use.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from ..tagging import repair_iob2, spans_of

MISSED = "(missed)"
SPURIOUS = "(spurious)"


def entity_confusion_rows(true: Sequence[Sequence[str]], pred: Sequence[Sequence[str]]) -> list[dict[str, str]]:
    """One {actual, predicted} row per gold or predicted entity (MISSED / SPURIOUS where the other side has none).

    The rows `dvc plots` confusion templates read; `true` and `pred` hold one IOB2 tag list per sentence."""
    if len(true) != len(pred):
        raise ValueError(f"{len(true)} gold sentences but {len(pred)} predicted")
    rows: list[dict[str, str]] = []
    for gold_tags, pred_tags in zip(true, pred):
        gold = {(s.start, s.end): s.type for s in spans_of(gold_tags)}
        guess = {(s.start, s.end): s.type for s in spans_of(repair_iob2(pred_tags)[0])}
        rows.extend({"actual": kind, "predicted": guess.get(span, MISSED)} for span, kind in sorted(gold.items()))
        rows.extend({"actual": SPURIOUS, "predicted": kind} for span, kind in sorted(guess.items()) if span not in gold)
    return rows


def entity_confusion_matrix(rows: Sequence[dict[str, str]], types: Sequence[str]) -> tuple[list[str], list[str], list[list[int]]]:
    """(row names, column names, counts): rows are `types` then SPURIOUS, columns `types` then MISSED.

    Types seen in `rows` but not in `types` (a prediction of a type the test split lacks) are added in name order."""
    seen = {r["actual"] for r in rows} | {r["predicted"] for r in rows}
    names = list(types) + sorted(seen - set(types) - {MISSED, SPURIOUS})
    actual, predicted = [*names, SPURIOUS], [*names, MISSED]
    counts = Counter((r["actual"], r["predicted"]) for r in rows)
    return actual, predicted, [[counts[(a, p)] for p in predicted] for a in actual]
