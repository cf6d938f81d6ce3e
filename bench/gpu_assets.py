"""Write the folder `bench/gpu_bench.py` reads: the base model (fp16 on disk), its tokenizer, and the prepared tweets.

Runs HERE, in the project's virtualenv (it needs sftops' prepare stage: pandas, pydantic, ftfy). The
GPU machine's image has none of those, nor the packages that ship the model and the corpus, and the
device tool carries at most 64 MiB: the MiniLM safetensors are 91 MB in fp32, 45 MB in fp16, and the
prepared splits ~4 MB as JSON Lines. gpu_bench.py loads the weights back as fp32, so the fp32 runs
compute in fp32 on weights rounded once to fp16 (the speed is the same; the numbers are not MiniLM's
to the last bit, which a throughput benchmark does not need).

    python bench/gpu_assets.py bench/_gpu_assets [--params params-full.yaml] [--tiny] [--max-rows N]
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
from pathlib import Path

from sftops.atomic import atomic_path, write_json
from sftops.config import load_params
from sftops.data import prepare_dataset
from sftops.modeling import resolve_base_dir

TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "vocab.txt", "special_tokens_map.json")
SPLITS_WRITTEN = ("train", "test")  # train: the training benchmark; test: inference and the serving sweep


def save_model(base: Path, target: Path, *, tiny: bool) -> dict[str, object]:
    """Save `base` (or the tiny random BERT) as fp16 safetensors plus its tokenizer files in `target`."""
    import torch
    from transformers import AutoModel, AutoTokenizer

    if tiny:
        from sftops.testing.tiny_bert import make_tiny_bert

        base = make_tiny_bert(target.parent / "_tiny_src")
    model = AutoModel.from_pretrained(str(base), dtype=torch.float32)
    model.to(torch.float16).save_pretrained(str(target))
    originals = [base / name for name in TOKENIZER_FILES if (base / name).is_file()]
    if "tokenizer.json" in {f.name for f in originals}:
        for f in originals:  # the files as shipped: an older transformers on the device reads them as-is
            shutil.copy2(f, target / f.name)
    else:
        AutoTokenizer.from_pretrained(str(base)).save_pretrained(str(target))
    if tiny:
        shutil.rmtree(target.parent / "_tiny_src")
    return {"base": "tiny random BERT" if tiny else str(base), "stored_dtype": "float16",
            "params": sum(p.numel() for p in model.parameters())}


def write_split_jsonl(frame, target: Path, max_rows: int | None) -> int:
    """One {"text", "label"} object per line (label: the integer id); at most `max_rows` rows."""
    rows = frame if max_rows is None else frame.head(max_rows)
    with target.open("w", encoding="utf-8") as fh:
        for text, label in zip(rows["text"], rows["label"]):
            fh.write(json.dumps({"text": str(text), "label": int(label)}, ensure_ascii=False) + "\n")
    return len(rows)


def write_assets(out: Path, params_file: Path, *, tiny: bool = False, max_rows: int | None = None) -> dict[str, object]:
    """Prepare the data with sftops' own prepare stage and write model/, train.jsonl, test.jsonl, meta.json to `out`."""
    import pandas as pd

    params = load_params(params_file)
    with atomic_path(out) as tmp, tempfile.TemporaryDirectory() as scratch:
        tmp.mkdir(parents=True)
        data_meta = prepare_dataset(params.data, Path(scratch) / "prepared")
        counts = {
            split: write_split_jsonl(pd.read_parquet(Path(scratch) / "prepared" / f"{split}.parquet"), tmp / f"{split}.jsonl", max_rows)
            for split in SPLITS_WRITTEN
        }
        model_info = save_model(resolve_base_dir(params.model), tmp / "model", tiny=tiny)
        meta = {
            "params_file": str(params_file),
            "data_source": data_meta["source"],
            "label_names": sorted(data_meta["label_map"], key=data_meta["label_map"].get),  # name -> id, as ids
            "rows": counts,
            "max_length": params.model.max_length,
            "batch_size": params.train.batch_size,
            "learning_rate": params.train.learning_rate,
            "weight_decay": params.train.weight_decay,
            "max_grad_norm": params.train.max_grad_norm,
            "group_by_length": params.train.group_by_length,
            "serve_max_batch_size": params.serve.max_batch_size,
            "model": model_info,
        }
        write_json(tmp / "meta.json", meta)
    return meta


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="folder to write (replaced atomically)")
    parser.add_argument("--params", type=Path, default=Path("params-full.yaml"), help="the profile whose data and max_length to use")
    parser.add_argument("--tiny", action="store_true", help="a tiny random BERT instead of model.base (the dry run)")
    parser.add_argument("--max-rows", type=int, default=None, help="keep at most this many rows per split")
    args = parser.parse_args()
    meta = write_assets(args.out, args.params, tiny=args.tiny, max_rows=args.max_rows)
    size = sum(f.stat().st_size for f in args.out.rglob("*") if f.is_file())
    print(f"wrote {args.out} ({size / 2**20:.1f} MiB): rows {meta['rows']}, max_length {meta['max_length']}, model {meta['model']['base']}")


if __name__ == "__main__":
    main()
