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
import onnx_ir
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
) -> None:
    """Export `module` with axis 0 of every input dynamic ("batch") and write a single-file model to `path`.

    The example batch must be >= 2: torch.export specializes a size-1 axis to a constant.

    Memory: the exported graph references the module's own weight tensors until it is written; no Python
    ModelProto of the whole model is built, and the checker reads the written file. Checking a full-size
    model from a proto held in Python stacked the proto, its serialized bytes and the checker's parse
    (2.6 GiB for `base`, issue 28).
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
    strip_debug_metadata(program.model)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    onnx_ir.save(program.model, str(path))
    del program
    onnx.checker.check_model(str(path), full_check=True)


def strip_debug_metadata(model: onnx_ir.Model) -> None:
    """Drop the exporter's per-node stack traces and FX names.

    They hold absolute source paths (so two machines would write different bytes for the same weights)
    and make up a large part of a small model's file.
    """
    graph = model.graph
    values: list[onnx_ir.Value] = [*graph.inputs, *graph.outputs, *graph.initializers.values()]
    for node in onnx_ir.traversal.RecursiveGraphIterator(graph):
        node.metadata_props.clear()
        node.doc_string = None
        values.extend(v for v in node.outputs if v is not None)
    for value in values:
        value.metadata_props.clear()
        if value.const_value is not None:
            value.const_value.metadata_props.clear()
    model.metadata_props.clear()
    model.doc_string = None
    graph.metadata_props.clear()
    graph.doc_string = None
