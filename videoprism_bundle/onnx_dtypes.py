"""The ONNX element types a manifest `TensorSpec` may declare, by their manifest spelling."""

from __future__ import annotations

import onnx

MANIFEST_DTYPES: dict[int, str] = {
    onnx.TensorProto.FLOAT: "float32",
    onnx.TensorProto.FLOAT16: "float16",
    onnx.TensorProto.INT64: "int64",
    onnx.TensorProto.INT32: "int32",
}


def manifest_dtype(elem_type: int) -> str | None:
    """The manifest name of an ONNX element type, or None when a bundle cannot declare it."""
    return MANIFEST_DTYPES.get(elem_type)
