"""The report's sections, each built from the evidence or reduced to a note saying what is missing and why."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..evaluation import (
    entity_confusion_matrix,
    entity_confusion_rows,
    plot_counts,
    plot_entity_confusion,
    plot_label_f1,
    plot_reliability,
    reliability,
)
from ..tagging import repair_iob2, spans_of
from ._evidence import Evidence
from ._figures import data_uri

MISTAKES_SHOWN = 15


@dataclass
class ReportTable:
    """A caption, column names and rows of cells already formatted as text."""

    caption: str
    columns: list[str]
    rows: list[list[str]]


@dataclass
class ReportSection:
    """One titled part of the report: figures (data URIs), tables, key facts, and a note when data is missing."""

    id: str
    title: str
    facts: dict[str, str] = field(default_factory=dict)
    figures: list[str] = field(default_factory=list)
    tables: list[ReportTable] = field(default_factory=list)
    note: str | None = None


def _fmt(value: Any, digits: int = 4) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def _signed(value: float | None) -> str:
    return "-" if value is None else f"{value:+.4f}"


def _fine_tuned(evidence: Evidence) -> dict[str, Any] | None:
    return (evidence.evaluation or {}).get("fine_tuned")


def _models(evaluation: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in evaluation.items() if isinstance(v, dict) and ("per_class" in v or "per_type" in v)}


def per_label(evidence: Evidence) -> ReportSection:
    """Per-class (per-type) precision/recall/F1 against the baselines, and the confusion matrix."""
    tagger = evidence.task == "token_classification"
    section = ReportSection("per-label", "Per-type scores and type confusion" if tagger else "Per-class scores and confusion matrix")
    scores = _fine_tuned(evidence)
    if scores is None:
        section.note = evidence.notes.get("evaluation", "the evaluate run has no eval.json")
        return section
    assert evidence.evaluation is not None
    per, headline = ("per_type", "entity_f1") if tagger else ("per_class", "macro_f1")
    labels = list(scores[per])
    models = _models(evidence.evaluation)
    section.facts = {f"{name} {headline.replace('_', '-')}": _fmt(m.get(headline)) for name, m in models.items()}
    section.figures.append(data_uri(lambda p: plot_label_f1(models, labels, p, "F1 per label (test)", per=per,
                                                            headline=headline)))
    section.tables.append(ReportTable("fine-tuned model on the test split", ["label", "precision", "recall", "F1", "support"],
                                [[name, _fmt(r["precision"]), _fmt(r["recall"]), _fmt(r["f1"]), str(r["support"])]
                                 for name, r in scores[per].items()]))
    rows = evidence.predictions
    if rows is None:
        section.note = "no confusion matrix: " + evidence.notes.get("predictions", "no per-example predictions")
    elif tagger:
        actual, predicted, matrix = entity_confusion_matrix(
            entity_confusion_rows([r["tags"] for r in rows], [r["predicted"] for r in rows]), labels)
        section.figures.append(data_uri(lambda p: plot_entity_confusion(actual, predicted, matrix, p, "Entity types (test)")))
    else:
        index = {name: i for i, name in enumerate(labels)}
        matrix = [[0] * len(labels) for _ in labels]
        for r in rows:
            if r["label"] in index and r["predicted"] in index:
                matrix[index[r["label"]]][index[r["predicted"]]] += 1
        section.figures.append(data_uri(lambda p: plot_counts(labels, labels, matrix, p, "Confusion matrix (test)")))
    return section


def champion(evidence: Evidence) -> ReportSection:
    """The gate's decision: challenger and champion scored on the same test split, side by side."""
    section = ReportSection("champion", "Challenger vs champion")
    gate = evidence.gate
    if gate is None:
        section.note = evidence.notes.get("champion", "no gate decision recorded")
        return section
    version = evidence.version.version
    section.facts = {"decision": gate.decision, "reason": gate.reason, "metric": gate.metric or "-",
                     "test examples": _fmt(gate.test_samples), "test data": gate.test_data_hash or "-",
                     "champion before / after": f"{gate.champion_before or 'none'} / {gate.champion_after or 'none'}"}
    columns = ["", f"challenger (version {version})"]
    other = gate.champion_before if gate.champion_before and gate.champion_before != version else None
    if other:
        columns.append(f"champion (version {other})")
    keys = [version, *([other] if other else [])]
    section.tables.append(ReportTable("scored by the gate on the same test split, as each would serve", columns, [
        [gate.metric or "score", *(_fmt(gate.scores.get(k)) for k in keys)],
        ["variant", *(gate.variants.get(k, "-") for k in keys)],
        ["device", *(gate.devices.get(k, "-") for k in keys)],
        ["test texts it trained on", *(_fmt(gate.test_overlap.get(k)) for k in keys)],
    ]))
    if other is None:
        section.note = "there was no champion to compare with: this version was the first"
        return section
    mine, theirs = _fine_tuned(evidence), (evidence.champion_evaluation or {}).get("fine_tuned")
    if mine is None or theirs is None:
        section.note = "per-label scores of the champion are not available (its evaluate run was not found)"
        return section
    per, headline = ("per_type", "entity_f1") if evidence.task == "token_classification" else ("per_class", "macro_f1")
    side = {f"challenger v{version}": mine, f"champion v{other}": theirs}
    labels = list(dict.fromkeys([*mine[per], *theirs[per]]))
    section.figures.append(data_uri(lambda p: plot_label_f1(side, labels, p, "F1 per label: challenger vs champion",
                                                            per=per, headline=headline)))
    same = (evidence.champion_evaluation or {}).get("data_hash") == evidence.version.data_hash
    section.tables.append(ReportTable(
        "per-label F1 from each version's evaluate run" + ("" if same else " (the champion's on its own, older test data)"),
        ["label", "challenger", "champion", "change"],
        [[name, _fmt(mine[per].get(name, {}).get("f1")), _fmt(theirs[per].get(name, {}).get("f1")),
          _signed(mine[per][name]["f1"] - theirs[per][name]["f1"]) if name in mine[per] and name in theirs[per] else "-"]
         for name in labels]))
    return section


def calibration(evidence: Evidence) -> ReportSection:
    """A reliability diagram and the ECE of the fine-tuned classifier's confidence on the test split."""
    section = ReportSection("calibration", "Calibration")
    if evidence.task == "token_classification":
        section.note = "not shown for token classification: the evaluate stage keeps word tags, not their confidence"
        return section
    rows = evidence.predictions
    if not rows:
        section.note = evidence.notes.get("predictions", "no per-example predictions")
        return section
    table = reliability([r["confidence"] for r in rows], [r["label"] == r["predicted"] for r in rows])
    section.facts = {"ECE": f"{table.ece:.4f}", "examples": str(table.n),
                     "mean confidence": _fmt(sum(r["confidence"] for r in rows) / len(rows)),
                     "accuracy": _fmt(sum(r["label"] == r["predicted"] for r in rows) / len(rows))}
    section.figures.append(data_uri(lambda p: plot_reliability(table, p, "Reliability (test)")))
    section.tables.append(ReportTable("confidence bins", ["confidence", "examples", "mean confidence", "accuracy", "gap"],
                                [[f"{b.low:.1f}-{b.high:.1f}", str(b.count), _fmt(b.confidence, 3), _fmt(b.accuracy, 3),
                                  _signed(b.accuracy - b.confidence)] for b in table.bins if b.count]))
    return section


def mistakes(evidence: Evidence) -> ReportSection:
    """The most confident wrong predictions (classification) or the entity span errors (token classification)."""
    tagger = evidence.task == "token_classification"
    section = ReportSection("mistakes", "Entity span mistakes" if tagger else "Most confident mistakes")
    rows = evidence.predictions
    if rows is None:
        section.note = evidence.notes.get("predictions", "no per-example predictions")
        return section
    if tagger:
        found = _span_mistakes(rows)
        section.tables.append(ReportTable(f"first {min(len(found), MISTAKES_SHOWN)} of {len(found)} span errors (word "
                                    "confidences are not kept, so they are in test order)",
                                    ["sentence", "words", "gold", "predicted"], found[:MISTAKES_SHOWN]))
        return section
    wrong = sorted((r for r in rows if r["label"] != r["predicted"]), key=lambda r: -r["confidence"])
    section.facts = {"wrong": f"{len(wrong)} of {len(rows)}"}
    section.tables.append(ReportTable(f"the {min(len(wrong), MISTAKES_SHOWN)} most confident", ["text", "true", "predicted",
                                                                                           "confidence"],
                                [[r["text"], r["label"], r["predicted"], f"{r['confidence']:.3f}"]
                                 for r in wrong[:MISTAKES_SHOWN]]))
    return section


def _span_mistakes(rows: list[dict[str, Any]]) -> list[list[str]]:
    """[sentence number, words, gold type or '-', predicted type or '-'] for every span not predicted exactly."""
    out = []
    for n, r in enumerate(rows):
        words = r["tokens"]
        gold = {(s.start, s.end): s.type for s in spans_of(r["tags"])}
        guess = {(s.start, s.end): s.type for s in spans_of(repair_iob2(r["predicted"])[0])}
        for span in sorted(set(gold) | set(guess)):
            if gold.get(span) != guess.get(span):
                out.append([str(n), " ".join(words[span[0]:span[1]]), gold.get(span, "-"), guess.get(span, "-")])
    return out


def tuning(evidence: Evidence) -> ReportSection:
    """The Optuna study behind the training params: best trial and every trial's value."""
    section = ReportSection("tuning", "Tuning")
    study = evidence.tuning
    if study is None:
        section.note = evidence.notes.get("tuning", "no tune run found")
        return section
    states = [t.state for t in study.trials]
    section.facts = {"study": study.study, "metric": study.metric, "best trial": study.best_trial or "-",
                     f"best {study.metric}": _fmt(study.best_value), "trials": str(len(study.trials)),
                     **{state: str(states.count(state)) for state in sorted(set(states))},
                     **{f"best {k}": v for k, v in study.best_params.items()}}
    names = sorted({k for t in study.trials for k in t.params})
    section.tables.append(ReportTable("trials", ["trial", "state", study.metric, *names],
                                [[str(t.number), t.state, _fmt(t.value), *(t.params.get(k, "-") for k in names)]
                                 for t in study.trials]))
    return section


def export(evidence: Evidence) -> ReportSection:
    """The ONNX variants: F1 change against PyTorch on the test split, speed, published or why not."""
    section = ReportSection("export", "Export variants")
    if not evidence.variants:
        section.note = evidence.notes.get("export", "no export variants found")
        return section
    section.facts = {"PyTorch samples/s": _fmt(evidence.torch_samples_per_s, 1)}
    section.tables.append(ReportTable("each variant against PyTorch on the test split",
                                ["variant", "device", "F1", "F1 change", "samples/s", "x PyTorch", "published"],
                                [[v.name, v.device, _fmt(v.f1), _signed(v.f1_delta), _fmt(v.samples_per_s, 1),
                                  _fmt(v.speedup_vs_torch, 2), "yes" if v.published else f"no: {v.reason}"]
                                 for v in evidence.variants]))
    if "export" in evidence.notes:
        section.note = evidence.notes["export"]
    return section


SECTIONS: tuple[Callable[[Evidence], ReportSection], ...] = (per_label, champion, calibration, mistakes, tuning, export)
