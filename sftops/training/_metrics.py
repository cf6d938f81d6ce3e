"""What the Trainer scores on the validation split: macro-F1 / accuracy per text, entity F1 / token accuracy per word."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence

import numpy as np

from ..config import TASK_METRICS, Task
from ._data import TaggedExamples


def selection_metric(task: Task) -> str:
    """The Trainer's name of the metric that picks the best checkpoint: eval_macro_f1, or eval_entity_f1 for NER."""
    return f"eval_{TASK_METRICS[task][0]}"


def text_scores(prediction) -> dict[str, float]:
    """Macro-F1 and accuracy of the argmax of (N, K) logits."""
    from sklearn.metrics import accuracy_score, f1_score

    logits = prediction.predictions[0] if isinstance(prediction.predictions, tuple) else prediction.predictions
    preds = np.asarray(logits).argmax(axis=-1)
    labels = np.asarray(prediction.label_ids)
    return {
        "macro_f1": float(f1_score(labels, preds, average="macro", zero_division=0)),
        "accuracy": float(accuracy_score(labels, preds)),
    }


def argmax_logits(logits, labels):
    """Keep only the predicted tag id per token, so evaluation holds (N, T) ids instead of (N, T, K) logits."""
    if isinstance(logits, tuple):
        logits = logits[0]
    return logits.argmax(dim=-1)


def entity_scorer(examples: TaggedExamples, names: Sequence[str], pad_id: int) -> Callable[..., dict[str, float]]:
    """compute_metrics for token classification: each word gets the tag predicted at its first sub-token ("O" when
    truncation cut it), scored against the whole gold sentence with sftops.evaluation.entity_metrics.

    Length grouping also reorders evaluation batches, so each prediction row is matched back to its
    sentence by its input ids (TrainingArguments.include_for_metrics=["inputs"]); identical inputs
    get identical predictions, so which of two equal sentences a row is matched to does not matter."""
    from ..entity_metrics import entity_metrics

    by_ids: dict[tuple[int, ...], list[int]] = defaultdict(list)
    for i, example in enumerate(examples.examples):
        by_ids[_unpadded(example["input_ids"], pad_id)].append(i)

    def compute(prediction) -> dict[str, float]:
        ids = np.asarray(prediction.predictions[0] if isinstance(prediction.predictions, tuple)
                         else prediction.predictions)
        unmatched = {key: list(rows) for key, rows in by_ids.items()}
        gold, predicted = [], []
        for row, inputs in enumerate(np.asarray(prediction.inputs)):
            sentence = unmatched[_unpadded(inputs, pad_id)].pop()
            gold.append(examples.tags[sentence])
            predicted.append([names[int(ids[row, p])] if p is not None else "O"
                              for p in examples.first_subtokens[sentence]])
        scores = entity_metrics(gold, predicted)
        return {key: float(scores[key]) for key in ("entity_f1", "entity_precision", "entity_recall", "token_accuracy")}

    return compute


def _unpadded(row: Sequence[int] | np.ndarray, pad_id: int) -> tuple[int, ...]:
    """Input ids without trailing padding (the collator's pad id, the Trainer's -100 across batches); the same cut
    is applied to the unpadded examples, so keys match even when a real last token equals the pad id."""
    end = len(row)
    while end and int(row[end - 1]) in (pad_id, -100):
        end -= 1
    return tuple(int(t) for t in row[:end])
