"""PyTorch eager vs ONNX Runtime fp32 / optimized / int8 on real tweets, side by side in one run.

    python bench/onnx_speed.py [--model models/model] [--n 512] [--params params.yaml]
    python bench/onnx_speed.py --params params-ner.yaml      # the NER (token classification) model

Data: the prepare stage's own code on the params file's `data` section (default: the
embedded tweets; with params-ner.yaml the embedded WNUT-16 NER tweets), written to a
temp folder. Model: `--model` (default models/model if `sftops train` has run for the
params' task), else the embedded MiniLM with its head fitted by logistic regression on
the train split (on pooled texts, or on each word's first sub-token for NER; seconds to a
minute: a stand-in for fine-tuning). Speed excludes tokenization (the same pre-tokenized
batches feed every engine), in two batch orders: as texts arrive (each batch padded to its
longest text) and length-sorted (bucketing). Quality is on the whole test split: macro-F1,
or for NER entity F1 (each word's tag from its first sub-token, seqeval strict IOB2).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np

FLOP_PER_TOKEN = 21.5e6  # all-MiniLM-L6-v2 forward, DESIGN.md
BATCH_SIZES = (1, 8, 32, 128)


def fp32_peak_flops(n: int = 2048, repeats: int = 10) -> float:
    """This CPU's fp32 peak, estimated as the best FLOP/s of a large matmul in torch or in ONNX Runtime (MLAS).

    Both count: here MLAS reaches about twice torch's matmul rate with the same threads.
    """
    import onnxruntime as ort
    import torch
    from onnx import TensorProto, helper

    a, b = np.random.default_rng(0).random((2, n, n), dtype=np.float32)
    spec = [helper.make_tensor_value_info(name, TensorProto.FLOAT, [n, n]) for name in "abc"]
    graph = helper.make_graph([helper.make_node("MatMul", ["a", "b"], ["c"])], "matmul", spec[:2], spec[2:])
    session = ort.InferenceSession(
        helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8).SerializeToString(),
        providers=["CPUExecutionProvider"],
    )
    ta, tb = torch.from_numpy(a), torch.from_numpy(b)
    best = float("inf")
    for run in (lambda: ta @ tb, lambda: session.run(None, {"a": a, "b": b})):
        run()
        for _ in range(repeats):
            t0 = time.perf_counter()
            run()
            best = min(best, time.perf_counter() - t0)
    return 2 * n**3 / best


def fitted_minilm(train_texts: list[str], train_labels: np.ndarray, label_map, target: Path) -> Path:
    """The embedded MiniLM with a logistic-regression head on its pooler output, saved as a model folder."""
    import torch
    from sklearn.linear_model import LogisticRegression
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from sftops.defaults import builtin_model_dir

    tokenizer = AutoTokenizer.from_pretrained(builtin_model_dir())
    model = AutoModelForSequenceClassification.from_pretrained(
        builtin_model_dir(), num_labels=len(label_map), id2label=label_map.id2label, label2id=label_map.label2id
    ).eval()
    pooled = []
    with torch.inference_mode():
        for start in range(0, len(train_texts), 64):
            batch = tokenizer(train_texts[start : start + 64], padding=True, truncation=True, max_length=64, return_tensors="pt")
            pooled.append(model.bert(**batch).pooler_output.numpy())
    head = LogisticRegression(max_iter=3000, C=10).fit(np.concatenate(pooled), train_labels)
    model.classifier.weight.data = torch.tensor(head.coef_, dtype=torch.float32)
    model.classifier.bias.data = torch.tensor(head.intercept_, dtype=torch.float32)
    model.save_pretrained(target)
    tokenizer.save_pretrained(target)
    label_map.save(target / "label_map.json")
    return target


def fitted_minilm_tagger(sentences: list[list[str]], tag_ids: list[list[int]], label_map, target: Path,
                         max_length: int) -> Path:
    """The embedded MiniLM with a token head fitted by logistic regression on each word's first sub-token, saved."""
    import torch
    from sklearn.linear_model import LogisticRegression
    from transformers import AutoModelForTokenClassification, AutoTokenizer

    from sftops.defaults import builtin_model_dir
    from sftops.modeling import encode_words, first_subtokens

    tokenizer = AutoTokenizer.from_pretrained(builtin_model_dir())
    model = AutoModelForTokenClassification.from_pretrained(
        builtin_model_dir(), num_labels=len(label_map), id2label=label_map.id2label, label2id=label_map.label2id
    ).eval()
    features, targets = [], []
    with torch.inference_mode():
        for start in range(0, len(sentences), 64):
            chunk = sentences[start : start + 64]
            encoded = encode_words(tokenizer, chunk, max_length)
            batch = tokenizer.pad({k: encoded[k] for k in encoded}, return_tensors="pt")
            hidden = model.bert(**batch).last_hidden_state.numpy()
            for row, words in enumerate(chunk):
                for word, position in enumerate(first_subtokens(encoded.word_ids(row), len(words))):
                    if position is not None:
                        features.append(hidden[row, position])
                        targets.append(tag_ids[start + row][word])
    head = LogisticRegression(max_iter=1000, C=1.0).fit(np.stack(features), np.asarray(targets))
    # a tag absent from the sample gets no row in coef_: it keeps a very low bias and is never predicted
    weight = np.zeros((len(label_map), head.coef_.shape[1]), dtype=np.float32)
    bias = np.full(len(label_map), -1e4, dtype=np.float32)
    weight[head.classes_], bias[head.classes_] = head.coef_, head.intercept_
    model.classifier.weight.data = torch.from_numpy(weight)
    model.classifier.bias.data = torch.from_numpy(bias)
    model.save_pretrained(target)
    tokenizer.save_pretrained(target)
    label_map.save(target / "label_map.json")
    return target


def make_batches(tokenizer, texts: list[str], names: list[str], batch_size: int, sort: bool, max_length: int):
    encoded = tokenizer(texts, truncation=True, max_length=max_length)
    order = np.argsort([len(x) for x in encoded["input_ids"]], kind="stable") if sort else np.arange(len(texts))
    batches = []
    for start in range(0, len(order), batch_size):
        idx = order[start : start + batch_size]
        padded = tokenizer.pad([{n: encoded[n][i] for n in names} for i in idx], return_tensors="np")
        batches.append({n: padded[n].astype(np.int64) for n in names})
    return batches


def timed(engines: dict, batches: list, repeats: int) -> dict[str, float]:
    """Seconds per engine for one pass over `batches`, best of `repeats` rounds.

    Engines take turns pass by pass (not batch by batch: ORT's spinning worker
    threads would slow whichever engine runs right after them), so load from other
    processes on a shared machine falls on all alike; the minimum is the least
    disturbed pass.
    """
    for forward in engines.values():
        forward(batches[0])  # warm-up
    best = {label: float("inf") for label in engines}
    for _ in range(repeats):
        for label, forward in engines.items():
            t0 = time.perf_counter()
            for feed in batches:
                forward(feed)
            best[label] = min(best[label], time.perf_counter() - t0)
    return best


def macro_f1(forward, tokenizer, names: list[str], texts: list[str], labels: np.ndarray, label_map, max_length: int) -> float:
    """Macro-F1 of one engine on the test texts (batches of 32, length-sorted)."""
    from sftops.evaluation import classification_metrics

    batches = make_batches(tokenizer, texts, names, 32, True, max_length)
    preds = np.concatenate([forward(b).argmax(1) for b in batches])
    order = np.argsort([len(x) for x in tokenizer(texts, truncation=True, max_length=max_length)["input_ids"]], kind="stable")
    y = np.empty_like(preds)
    y[order] = preds
    return float(classification_metrics(labels, y, label_map)["macro_f1"])


def entity_f1(forward, tokenizer, names: list[str], sentences: list[list[str]], tags: list[list[str]], label_map,
              max_length: int) -> float:
    """Entity F1 of one engine on the test sentences: each word's tag from its first sub-token (a cut word: "O")."""
    from sftops.evaluation import entity_metrics
    from sftops.modeling import encode_words, first_subtokens

    predicted: list[list[str]] = []
    for start in range(0, len(sentences), 32):
        chunk = sentences[start : start + 32]
        encoded = encode_words(tokenizer, chunk, max_length)
        padded = tokenizer.pad([{n: encoded[n][i] for n in names} for i in range(len(chunk))], return_tensors="np")
        ids = forward({n: padded[n].astype(np.int64) for n in names}).argmax(-1)
        for row, words in enumerate(chunk):
            positions = first_subtokens(encoded.word_ids(row), len(words))
            predicted.append([label_map.names[int(ids[row, p])] if p is not None else "O" for p in positions])
    return float(entity_metrics(tags, predicted)["entity_f1"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--model", default=None, help="a trained model folder (default: models/model if it is one of the params' task)")
    parser.add_argument("--n", type=int, default=192, help="test tweets timed per engine and batch size (n/4 at batch 1)")
    parser.add_argument("--repeats", type=int, default=2, help="passes per cell; the best one counts")
    parser.add_argument("--max-length", type=int, default=None, help="default: model.max_length from params")
    args = parser.parse_args()

    import onnxruntime as ort
    import torch
    from transformers import AutoTokenizer

    from sftops.config import load_params
    from sftops.data import load_prepared, prepare_dataset
    from sftops.export import build_variant, export_onnx, graph_inputs, load_model, model_task, with_embedding
    from sftops.modeling import model_class_for

    params = load_params(args.params)
    ner = params.task == "token_classification"
    max_length = args.max_length or params.model.max_length
    threads = os.cpu_count() or 1
    torch.set_num_threads(threads)
    work = Path(tempfile.mkdtemp(prefix="onnx-speed-"))
    t0 = time.perf_counter()
    prepare_dataset(params.data, work / "prepared", task=params.task)
    print(f"prepare: {time.perf_counter() - t0:.1f}s")
    data = load_prepared(work / "prepared")
    test_texts = data.test["text"].astype(str).tolist()

    model_dir = Path(args.model) if args.model else Path("models/model")
    if args.model is None and not ((model_dir / "config.json").is_file() and model_task(model_dir) == params.task):
        print(f"{model_dir}: no trained {params.task} model; fitting a logistic-regression head on MiniLM (train split)")
        if ner:
            train = data.train.head(800)
            model_dir = fitted_minilm_tagger([list(t) for t in train["tokens"]], [list(t) for t in train["tag_ids"]],
                                             data.label_map, work / "model", max_length)
        else:
            train = data.train.head(1500)
            model_dir = fitted_minilm(train["text"].astype(str).tolist(), train["label"].to_numpy(), data.label_map, work / "model")
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    names = graph_inputs(tokenizer)
    wrapper = with_embedding(load_model(model_dir, params.task), names)
    t0 = time.perf_counter()
    export_onnx(wrapper, tokenizer, names, work / "model.onnx", opset=params.export.opset, per_token=ner)
    heads, hidden = wrapper.model.config.num_attention_heads, wrapper.model.config.hidden_size
    files = {"ORT fp32": work / "model.onnx"}
    files["ORT optimized"] = build_variant("optimized", work / "model.onnx", work, num_heads=heads, hidden_size=hidden)
    files["ORT int8"] = build_variant("int8", work / "model.onnx", work, num_heads=heads, hidden_size=hidden)
    print(f"export + variants: {time.perf_counter() - t0:.1f}s")

    torch_model = model_class_for(params.task).from_pretrained(model_dir).eval()  # default (sdpa) attention

    def torch_forward(feed):
        with torch.inference_mode():
            return torch_model(**{k: torch.from_numpy(v) for k, v in feed.items()}).logits.numpy()

    engines = {"torch eager": torch_forward}
    for label, path in files.items():
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])  # ORT defaults, as published
        engines[label] = lambda feed, s=session: s.run(["logits"], feed)[0]

    peak = fp32_peak_flops()

    if ner:
        metric = "entity F1"
        sentences, tags = [list(t) for t in data.test["tokens"]], [list(t) for t in data.test["tags"]]
        quality = {label: entity_f1(forward, tokenizer, names, sentences, tags, data.label_map, max_length)
                   for label, forward in engines.items()}
    else:
        metric = "macro-F1"
        y_test = data.test["label"].to_numpy()
        quality = {label: macro_f1(forward, tokenizer, names, test_texts, y_test, data.label_map, max_length)
                   for label, forward in engines.items()}

    rng = np.random.default_rng(0)
    timed_texts = [test_texts[i] for i in rng.permutation(len(test_texts))[: args.n]]
    print(f"\n{len(test_texts)} test tweets for {metric}; {len(timed_texts)} timed per cell (batch 1: a quarter), "
          f"best of {args.repeats}; max_length {max_length}; tokenization excluded")
    header = (f"{'engine':14} {'batch':>5} | {'arrival s/s':>11} {'x torch':>7} | "
              f"{'sorted s/s':>10} {'x torch':>7} {'tok/s':>8} {'%peak':>6}")
    rows = []
    for batch_size in BATCH_SIZES:
        cells = {}
        texts = timed_texts if batch_size > 1 else timed_texts[: max(8, len(timed_texts) // 4)]
        for sort in (False, True):
            if sort and batch_size == 1:  # one text per batch: nothing to sort
                cells.update({(label, True): cells[label, False] for label in engines})
                continue
            batches = make_batches(tokenizer, texts, names, batch_size, sort, max_length)
            real_tokens = sum(int(b["attention_mask"].sum()) for b in batches)
            for label, seconds in timed(engines, batches, args.repeats).items():
                cells[label, sort] = (len(texts) / seconds, real_tokens / seconds)
        rows += [(label, batch_size, cells[label, False][0], cells["torch eager", False][0], cells[label, True][0],
                  cells["torch eager", True][0], cells[label, True][1]) for label in engines]
    peak = max(peak, fp32_peak_flops())  # measured before and after: the less disturbed one counts
    print(header + "\n" + "-" * len(header))
    for label, batch_size, arrival, torch_arrival, sorted_, torch_sorted, tokens in rows:
        print(
            f"{label:14} {batch_size:>5} | {arrival:>11.0f} {arrival / torch_arrival:>6.2f}x | "
            f"{sorted_:>10.0f} {sorted_ / torch_sorted:>6.2f}x {tokens:>8.0f} {100 * tokens * FLOP_PER_TOKEN / peak:>5.1f}%"
        )
    print(f"\nCPU threads: {threads}; fp32 peak from a 2048^3 matmul (torch or ORT, best of start and end): {peak / 1e9:.0f} GFLOP/s; "
          f"%peak = real (unpadded) tokens/s x {FLOP_PER_TOKEN / 1e6:.1f} MFLOP / peak")
    print(f"\n{metric} on the test split (batch 32):")
    for label, value in quality.items():
        print(f"  {label:14} {value:.4f}  ({100 * (value - quality['torch eager']):+.2f} points vs torch)")


if __name__ == "__main__":
    main()
