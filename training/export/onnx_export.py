"""torch -> ONNX for one bundle graph: dynamo export with a dynamic batch axis, then clean-up and checks.

The dynamo exporter (torch.export + onnxscript) is the maintained path in torch 2.x; it constant-folds and
optimizes the graph itself (`optimize=True`). The position-table resizes are constant matrices, so fixed
T/H/W export without any interpolation op.
"""

from __future__ import annotations

import contextlib
import io
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import onnx
import torch

BATCH_AXIS = "batch"


@dataclass(frozen=True)
class OnnxExportConfig:
    # 20: GELU is a standard op from opset 20 on, so it exports as one node (which ONNX Runtime then fuses
    # with its bias) instead of an erf subgraph. onnxruntime >= 1.17 and TensorRT 10 read opset 20.
    opset: int = 20
    max_batch: int = 4096  # upper bound torch.export may assume for the symbolic batch size


def export_to_onnx(
    module: torch.nn.Module,
    example_inputs: tuple[torch.Tensor, ...],
    path: str | Path,
    input_names: Sequence[str],
    output_names: Sequence[str],
    config: OnnxExportConfig = OnnxExportConfig(),
) -> onnx.ModelProto:
    """Export `module` with axis 0 of every input dynamic ("batch"), write a single-file model, return it.

    The example batch must be >= 2: torch.export specializes a size-1 axis to a constant.
    """
    if any(t.shape[0] < 2 for t in example_inputs):
        raise ValueError("export with an example batch of at least 2, or the batch axis becomes static")
    batch = torch.export.Dim(BATCH_AXIS, min=1, max=config.max_batch)
    dynamic_shapes = {name: {0: batch} for name in input_names}
    module = module.eval()
    # The exporter narrates its progress on stdout; keep command output for what the user asked for.
    with torch.no_grad(), contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        # torch-internal deprecation chatter and a note that our one batch axis is named once, not twice.
        warnings.filterwarnings("ignore", category=FutureWarning, message=".*LeafSpec.*")
        warnings.filterwarnings("ignore", category=UserWarning, message=".*axis name.*will not be used.*")
        program = torch.onnx.export(
            module,
            example_inputs,
            input_names=list(input_names),
            output_names=list(output_names),
            opset_version=config.opset,
            dynamo=True,
            dynamic_shapes=dynamic_shapes,
            optimize=True,
            verbose=False,
        )
    if program is None:
        raise RuntimeError("torch.onnx.export returned no program")
    model: onnx.ModelProto = program.model_proto
    strip_debug_metadata(model)
    onnx.checker.check_model(model, full_check=True)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    onnx.save_model(model, str(path))
    return model


def strip_debug_metadata(model: onnx.ModelProto) -> None:
    """Drop the exporter's per-node stack traces and FX names.

    They hold absolute source paths (so two machines would write different bytes for the same weights)
    and make up a large part of a small model's file.
    """
    graph = model.graph
    for node in graph.node:
        del node.metadata_props[:]
        node.doc_string = ""
    for value_info in [*graph.input, *graph.output, *graph.value_info]:
        del value_info.metadata_props[:]
    for tensor in graph.initializer:
        del tensor.metadata_props[:]
    del model.metadata_props[:]
    model.doc_string = ""
    graph.doc_string = ""
