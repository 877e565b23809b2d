"""Builds tiny but real model bundles (ONNX graphs + a trained SentencePiece model + manifest) for tests
and benches, before the real exporter exists. Seeded, so two builds with the same spec are identical."""

from __future__ import annotations

import hashlib
import io
import itertools
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
import sentencepiece as spm
from onnx import TensorProto, helper, numpy_helper

from videoprism_bundle.manifest import MANIFEST_NAME, SCHEMA_VERSION
from videoprism_bundle.tensor_names import EMBEDDINGS, INPUT_IDS, PADDINGS, VIDEO_INPUT

OPSET = 18
# onnx writes its newest IR version by default, which older onnxruntime builds refuse to load.
IR_VERSION = 9


@dataclass(frozen=True)
class TinyBundleSpec:
    embedding_dim: int = 16
    num_frames: int = 4
    image_size: int = 16
    hidden: int = 32  # width of the video MLP; raise it to give benches real compute per item
    max_length: int = 16
    vocab_size: int = 80
    seed: int = 0
    model_version: str = "tiny-1"
    with_text: bool = True


def _l2_normalize(graph_nodes: list[onnx.NodeProto], source: str, out: str) -> None:
    graph_nodes += [
        helper.make_node("Mul", [source, source], [f"{out}_sq"]),
        helper.make_node("ReduceSum", [f"{out}_sq", "axis_last"], [f"{out}_ss"], keepdims=1),
        helper.make_node("Add", [f"{out}_ss", "eps"], [f"{out}_sse"]),
        helper.make_node("Sqrt", [f"{out}_sse"], [f"{out}_norm"]),
        helper.make_node("Div", [source, f"{out}_norm"], [out]),
    ]


def _common_initializers() -> list[onnx.TensorProto]:
    return [
        numpy_helper.from_array(np.array([-1], dtype=np.int64), "axis_last"),
        numpy_helper.from_array(np.array(1e-12, dtype=np.float32), "eps"),
    ]


def build_video_model(spec: TinyBundleSpec) -> onnx.ModelProto:
    rng = np.random.default_rng(spec.seed)
    t, s, h, d = spec.num_frames, spec.image_size, spec.hidden, spec.embedding_dim
    features = t * s * s * 3
    w1 = (rng.standard_normal((features, h)) / np.sqrt(features)).astype(np.float32)
    w2 = (rng.standard_normal((h, d)) / np.sqrt(h)).astype(np.float32)
    # Centering the [0,1] pixels keeps different clips far apart after the ReLU.
    nodes = [
        helper.make_node("Reshape", [VIDEO_INPUT, "flat_shape"], ["flat"]),
        helper.make_node("Sub", ["flat", "half"], ["centered"]),
        helper.make_node("MatMul", ["centered", "w1"], ["hidden"]),
        helper.make_node("Relu", ["hidden"], ["act"]),
        helper.make_node("MatMul", ["act", "w2"], ["proj"]),
    ]
    _l2_normalize(nodes, "proj", EMBEDDINGS)
    inits = [
        *_common_initializers(),
        numpy_helper.from_array(np.array([0, -1], dtype=np.int64), "flat_shape"),
        numpy_helper.from_array(np.array(0.5, dtype=np.float32), "half"),
        numpy_helper.from_array(w1, "w1"),
        numpy_helper.from_array(w2, "w2"),
    ]
    graph = helper.make_graph(
        nodes,
        "tiny_video_encoder",
        [helper.make_tensor_value_info(VIDEO_INPUT, TensorProto.FLOAT, ["batch", t, s, s, 3])],
        [helper.make_tensor_value_info(EMBEDDINGS, TensorProto.FLOAT, ["batch", d])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], ir_version=IR_VERSION)
    onnx.checker.check_model(model)
    return model


def build_text_model(spec: TinyBundleSpec, vocab_size: int) -> onnx.ModelProto:
    rng = np.random.default_rng(spec.seed + 1)
    table = rng.standard_normal((vocab_size, spec.embedding_dim)).astype(np.float32)
    nodes = [
        helper.make_node("Gather", ["table", INPUT_IDS], ["tok"]),
        helper.make_node("Sub", ["one", PADDINGS], ["mask"]),
        helper.make_node("Unsqueeze", ["mask", "axis_last"], ["mask3"]),
        helper.make_node("Mul", ["tok", "mask3"], ["masked"]),
        helper.make_node("ReduceSum", ["masked", "axis_one"], ["summed"], keepdims=0),
        helper.make_node("ReduceSum", ["mask3", "axis_one"], ["count"], keepdims=0),
        helper.make_node("Max", ["count", "one"], ["count1"]),
        helper.make_node("Div", ["summed", "count1"], ["mean"]),
    ]
    _l2_normalize(nodes, "mean", EMBEDDINGS)
    inits = [
        *_common_initializers(),
        numpy_helper.from_array(np.array([1], dtype=np.int64), "axis_one"),
        numpy_helper.from_array(np.array(1.0, dtype=np.float32), "one"),
        numpy_helper.from_array(table, "table"),
    ]
    graph = helper.make_graph(
        nodes,
        "tiny_text_encoder",
        [
            helper.make_tensor_value_info(INPUT_IDS, TensorProto.INT64, ["batch", spec.max_length]),
            helper.make_tensor_value_info(PADDINGS, TensorProto.FLOAT, ["batch", spec.max_length]),
        ],
        [helper.make_tensor_value_info(EMBEDDINGS, TensorProto.FLOAT, ["batch", spec.embedding_dim])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], ir_version=IR_VERSION)
    onnx.checker.check_model(model)
    return model


def _training_sentences() -> list[str]:
    subjects = ["a dog", "the cat", "a person", "two kids", "a chef", "the robot", "a bird", "my friend"]
    verbs = ["runs across", "jumps over", "cooks in", "plays with", "walks through", "looks at"]
    objects = ["the park", "a kitchen", "the red ball", "a busy street", "the beach", "a small box"]
    return [f"{s} {v} {o}." for s, v, o in itertools.product(subjects, verbs, objects)]


def train_tokenizer(vocab_size: int) -> bytes:
    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(_training_sentences()),
        model_writer=model,
        vocab_size=vocab_size,
        model_type="unigram",
        pad_id=0,
        unk_id=1,
        bos_id=-1,
        eos_id=-1,
        hard_vocab_limit=False,
        character_coverage=1.0,
        minloglevel=2,
    )
    return model.getvalue()


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _tensor(name: str, dtype: str, shape: list[int | str]) -> dict[str, object]:
    return {"name": name, "dtype": dtype, "shape": shape}


def build_tiny_bundle(directory: Path, spec: TinyBundleSpec | None = None) -> Path:
    """Writes a complete, loadable bundle into `directory` (created if needed) and returns it."""
    spec = spec or TinyBundleSpec()
    directory.mkdir(parents=True, exist_ok=True)
    onnx.save(build_video_model(spec), str(directory / "video_encoder.onnx"))
    t, s, d, length = spec.num_frames, spec.image_size, spec.embedding_dim, spec.max_length
    manifest: dict[str, object] = {
        "schema_version": SCHEMA_VERSION,
        "model_name": "videoprism-tiny-test",
        "model_version": spec.model_version,
        "embedding_dim": d,
        "precision": "fp32",
        "opset": OPSET,
        "video": {"num_frames": t, "image_size": s, "resize_mode": "crop"},
        "video_encoder": {
            "file": "video_encoder.onnx",
            "inputs": [_tensor(VIDEO_INPUT, "float32", ["batch", t, s, s, 3])],
            "outputs": [_tensor(EMBEDDINGS, "float32", ["batch", d])],
        },
        "source_checkpoint": f"random-seed-{spec.seed}",
        "created_at": "2024-01-01T00:00:00Z",
    }
    if spec.with_text:
        (directory / "tokenizer.model").write_bytes(train_tokenizer(spec.vocab_size))
        vocab = spm.SentencePieceProcessor(model_file=str(directory / "tokenizer.model")).GetPieceSize()
        onnx.save(build_text_model(spec, vocab), str(directory / "text_encoder.onnx"))
        manifest["text"] = {"tokenizer_file": "tokenizer.model", "max_length": length}
        manifest["text_encoder"] = {
            "file": "text_encoder.onnx",
            "inputs": [
                _tensor(INPUT_IDS, "int64", ["batch", length]),
                _tensor(PADDINGS, "float32", ["batch", length]),
            ],
            "outputs": [_tensor(EMBEDDINGS, "float32", ["batch", d])],
        }
    files = ["video_encoder.onnx"] + (["text_encoder.onnx", "tokenizer.model"] if spec.with_text else [])
    manifest["files_sha256"] = {name: _sha256(directory / name) for name in files}
    (directory / MANIFEST_NAME).write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    return directory
