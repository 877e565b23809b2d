"""Model bundles: checkpoint -> ONNX graphs + tokenizer + manifest (see docs/bundles.md).

Public API:
- `export_bundle(checkpoint_dir, out_dir, BundleExportOptions(...))` and `export_model_bundle(model, ...)`.
- `VideoEmbeddingGraph` / `TextEmbeddingGraph`: the computations the ONNX graphs hold (parity references).
- `convert_precision`: the fp16 / int8 presets applied to an fp32 ONNX file.
"""

from training.export.bundle import (
    TEXT_FILE,
    TOKENIZER_FILE,
    VIDEO_FILE,
    BundleExportOptions,
    export_bundle,
    export_model_bundle,
)
from training.export.graphs import TextEmbeddingGraph, VideoEmbeddingGraph
from training.export.onnx_export import OnnxExportConfig, export_to_onnx
from training.export.precision import PRECISIONS, Precision, convert_precision

__all__ = [
    "PRECISIONS",
    "TEXT_FILE",
    "TOKENIZER_FILE",
    "VIDEO_FILE",
    "BundleExportOptions",
    "OnnxExportConfig",
    "Precision",
    "TextEmbeddingGraph",
    "VideoEmbeddingGraph",
    "convert_precision",
    "export_bundle",
    "export_model_bundle",
    "export_to_onnx",
]
