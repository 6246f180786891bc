#!/usr/bin/env python3
"""Python baselines for the kb_cmrc benchmark: embed the very chunk texts the Rust build embedded,
with the same ONNX model file, and print the throughput as one JSON line. Two pipelines:

--pipeline fastembed (what a Python user writes): fastembed's own TextEmbedding over the same
  model directory (registered with add_custom_model, loaded with specific_model_path and
  local_files_only, so nothing is downloaded), `embed()` with its default batching: the texts in
  the order given, 256 at a time, each batch padded to its longest text. fastembed is not in
  models/requirements.txt: `python3 -m pip install fastembed` where the bench runs.

--pipeline adopt-batching (the strongest Python we could write): onnxruntime + tokenizers + numpy,
  batched exactly as adopt-embed batches inside `KnowledgeBase::build`: per document, slices of at
  most BATCH_SIZE chunks; inside a slice, texts sorted by token count and cut into batches of at
  most BATCH_SIZE texts and BATCH_TOKENS padded tokens; the model's passage prefix in front; padding
  to the longest text of a batch, truncation to the model's window; mean pooling over the
  attention mask and L2 normalisation. ONNX Runtime gets the same session settings as fastembed's:
  every available core, all graph optimisations, no spinning.

Usage: embed_baseline.py MODEL_DIR CHUNKS_JSONL [--pipeline P] [--check RUST_VECTORS_JSONL]
  CHUNKS_JSONL: one {"doc_id": ..., "text": ...} per line, in build order.
Output (stdout): {"chunks": N, "seconds": S, "chunks_per_s": R, "batches": B, ...}
Exit status 3 with "baseline skipped: <reason>" on stderr when a package is missing.
"""

import argparse
import json
import os
import sys
import time
from pathlib import Path

# adopt-embed's constants (crates/adopt-embed/src/lib.rs): `batch_size()` and `BATCH_TOKENS`.
BATCH_SIZE = 32
BATCH_TOKENS = 256


def skip(reason: str) -> None:
    print(f"baseline skipped: {reason}", file=sys.stderr)
    sys.exit(3)


def batches(doc_groups, lengths):
    """Index lists, one per model call, in adopt-embed's order."""
    for group in doc_groups:
        for start in range(0, len(group), BATCH_SIZE):
            part = sorted(group[start : start + BATCH_SIZE], key=lambda i: lengths[i])
            s = 0
            while s < len(part):
                e = s + 1
                while e < len(part) and e - s < BATCH_SIZE and (e - s + 1) * lengths[part[e]] <= BATCH_TOKENS:
                    e += 1
                yield part[s:e]
                s = e


def adopt_batching(model_dir: Path, spec: dict, records: list) -> tuple:
    """Embeds as adopt-embed does; (vectors in input order, seconds, facts for the result line)."""
    try:
        import numpy as np
        import onnxruntime as ort
        from tokenizers import Tokenizer
    except ImportError as e:
        skip(f"{e.name or e} is not installed (python3 -m pip install onnxruntime tokenizers numpy)")

    prefix, window = spec.get("passage_prefix", ""), int(spec["max_tokens"])
    texts = [r["text"] for r in records]

    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.intra_op_num_threads = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    session = ort.InferenceSession(str(model_dir / "model.onnx"), opts, providers=["CPUExecutionProvider"])
    input_names = {i.name for i in session.get_inputs()}

    counter = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    counter.no_padding()
    counter.no_truncation()
    tok = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    tok.enable_padding(pad_id=tok.token_to_id("<pad>") or 1, pad_token="<pad>")
    tok.enable_truncation(window)

    started = time.perf_counter()
    # Token counts as adopt-embed computes them: the text's own tokens plus <s>, </s> and the
    # longer of the two prefixes, capped at the window.
    overhead = 2 + max(
        len(counter.encode(spec.get("query_prefix", ""), add_special_tokens=False).ids),
        len(counter.encode(prefix, add_special_tokens=False).ids),
    )
    lengths = [min(len(counter.encode(t, add_special_tokens=False).ids) + overhead, window) if t else overhead for t in texts]
    groups, last = [], None
    for i, r in enumerate(records):
        if r["doc_id"] != last:
            groups.append([])
            last = r["doc_id"]
        groups[-1].append(i)

    out = [None] * len(texts)
    n_batches = 0
    for batch in batches(groups, lengths):
        enc = tok.encode_batch([prefix + texts[i] for i in batch])
        ids = np.array([e.ids for e in enc], dtype=np.int64)
        mask = np.array([e.attention_mask for e in enc], dtype=np.int64)
        feeds = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in input_names:
            feeds["token_type_ids"] = np.zeros_like(ids)
        hidden = session.run(None, feeds)[0]
        m = mask[..., None].astype(np.float32)
        pooled = (hidden * m).sum(1) / np.maximum(m.sum(1), 1e-9)
        pooled /= np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
        for row, i in zip(pooled, batch):
            out[i] = row
        n_batches += 1
    seconds = time.perf_counter() - started

    return out, seconds, {"batches": n_batches, "threads": opts.intra_op_num_threads, "onnxruntime": ort.__version__}


def fastembed_default(model_dir: Path, spec: dict, records: list) -> tuple:
    """Embeds with fastembed's TextEmbedding at its defaults; same return as adopt_batching."""
    try:
        import numpy as np
        import onnxruntime as ort
        import fastembed
        from fastembed import TextEmbedding
        from fastembed.common.model_description import ModelSource, PoolingType
    except ImportError as e:
        skip(f"{e.name or e} is not installed (python3 -m pip install fastembed)")
    if spec.get("pooling", "mean") != "mean":
        skip(f"pooling {spec.get('pooling')!r} is not mapped to fastembed's PoolingType here")
    name = "adopt-bench/" + spec["id"].replace("/", "-").replace("@", "-")
    TextEmbedding.add_custom_model(
        model=name,
        pooling=PoolingType.MEAN,
        normalization=bool(spec.get("normalize", True)),
        sources=ModelSource(hf="adopt-bench/not-downloaded"),
        dim=int(spec["dim"]),
        model_file="model.onnx",
    )
    model = TextEmbedding(model_name=name, specific_model_path=str(model_dir), local_files_only=True)
    prefix = spec.get("passage_prefix", "")
    inputs = [prefix + r["text"] for r in records]
    batch_size = 256  # TextEmbedding.embed's default
    started = time.perf_counter()
    out = [np.asarray(v, dtype=np.float32) for v in model.embed(inputs, batch_size=batch_size)]
    seconds = time.perf_counter() - started
    return out, seconds, {
        "batches": (len(inputs) + batch_size - 1) // batch_size,
        "threads": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "onnxruntime": ort.__version__,
        "fastembed": fastembed.__version__,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model_dir", type=Path)
    parser.add_argument("chunks", type=Path)
    parser.add_argument("--pipeline", choices=["adopt-batching", "fastembed"], default="adopt-batching")
    parser.add_argument("--check", type=Path, help="JSONL of [index, vector] from adopt, to compare")
    args = parser.parse_args()
    spec = json.loads((args.model_dir / "adopt-model.json").read_text(encoding="utf-8"))
    records = [json.loads(line) for line in args.chunks.read_text(encoding="utf-8").splitlines() if line]
    run = fastembed_default if args.pipeline == "fastembed" else adopt_batching
    out, seconds, facts = run(args.model_dir, spec, records)
    result = {
        "pipeline": args.pipeline,
        "chunks": len(records),
        "seconds": seconds,
        "chunks_per_s": len(records) / seconds if seconds > 0 else 0.0,
        **facts,
    }
    # Optional cross-check: the Rust vectors of the same texts should agree (cosine ~1).
    if args.check:
        import numpy as np

        rust = [json.loads(line) for line in args.check.read_text().splitlines() if line]
        cos = [float(np.dot(np.asarray(v, dtype=np.float32), out[i])) for i, v in rust]
        result["min_cosine_vs_rust"] = min(cos) if cos else None
    print(json.dumps(result))


if __name__ == "__main__":
    main()
