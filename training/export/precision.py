"""Precision presets applied to an exported fp32 ONNX file: fp32 (reference), fp16 (GPUs), int8 (CPUs).

Both conversions keep the graph's inputs and outputs float32, so the service feeds every bundle the same
arrays whatever its precision; only the manifest's `precision` field differs.
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path
from typing import Literal

import onnx
import onnx_ir

Precision = Literal["fp32", "fp16", "int8"]
PRECISIONS: tuple[Precision, ...] = ("fp32", "fp16", "int8")


def convert_precision(fp32_path: Path, out_path: Path, precision: Precision) -> None:
    """Write `out_path` as the `precision` version of the fp32 model at `fp32_path` (may be the same path)."""
    if precision == "fp32":
        if fp32_path != out_path:
            out_path.write_bytes(fp32_path.read_bytes())
    elif precision == "fp16":
        to_fp16(fp32_path, out_path)
    elif precision == "int8":
        to_int8(fp32_path, out_path)
    else:
        raise ValueError(f"unknown precision {precision!r}; choose one of {PRECISIONS}")


def to_fp16(fp32_path: Path, out_path: Path) -> None:
    """Weights and activations in float16, float32 graph IO.

    Constants beyond the float16 range are clamped (the converter's default), which is what the attention
    mask needs: its -0.7 * float32.max fill becomes -65504, still far below any soft-capped logit (|x| <= 50).
    """
    from onnxruntime.transformers.float16 import convert_float_to_float16

    model = onnx.load_model(str(fp32_path))
    # LayerNorm statistics and the final L2 norm sum many squares; float16 keeps them at reduced accuracy
    # but in range for unit-scale activations, and keeping them fp32 would add a cast pair per layer.
    converted = convert_float_to_float16(model, keep_io_types=True, disable_shape_infer=False)
    # The converter appends its input casts after the nodes that read them; ONNX requires topological order.
    ir_model = onnx_ir.serde.deserialize_model(converted)
    ir_model.graph.sort()
    converted = onnx_ir.serde.serialize_model(ir_model)
    onnx.checker.check_model(converted)
    onnx.save_model(converted, str(out_path))


def to_int8(fp32_path: Path, out_path: Path) -> None:
    """Dynamic int8 quantization of the weight matmuls (MatMul and Gemm with a constant weight; activations
    are quantized per batch at run time).

    Only weight matmuls are quantized: it holds nearly all the weights and compute, while the attention
    softmax/LayerNorm/GELU stay float32, which is what keeps retrieval accuracy close to fp32.
    """
    from onnxruntime.quantization import QuantType, quantize_dynamic

    with tempfile.TemporaryDirectory() as tmp:
        # quantize_dynamic may write beside its output; a temp file keeps `out_path` all-or-nothing.
        staged = Path(tmp) / "int8.onnx"
        source = onnx.load_model(str(fp32_path))
        # The quantizer re-runs shape inference from a file and trips over the exporter's value_info
        # annotations (some sit on initializers); they are optional, so it gets the graph without them.
        del source.graph.value_info[:]
        plain = Path(tmp) / "fp32.onnx"
        onnx.save_model(source, str(plain))
        # The quantizer logs a generic "consider pre-processing" warning on the root logger for every model.
        root_logger = logging.getLogger()
        previous_level = root_logger.level
        root_logger.setLevel(logging.ERROR)
        try:
            quantize_dynamic(
                str(plain),
                str(staged),
                op_types_to_quantize=["MatMul", "Gemm"],
                weight_type=QuantType.QInt8,
                per_channel=True,
                extra_options={"MatMulConstBOnly": True},
            )
        finally:
            root_logger.setLevel(previous_level)
        model = onnx.load_model(str(staged))
    onnx.checker.check_model(model)
    onnx.save_model(model, str(out_path))
