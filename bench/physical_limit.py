"""Physical limit: how close the video encoder gets to this CPU's dense-matmul peak.

Peak = measured fp32 GEMM GFLOP/s (numpy, and an ONNX Runtime MatMul at the same thread counts the encoder
runs with); the int8 peak is ONNX Runtime's MatMulInteger (what int8 bundles run on) at the same counts. FLOPs per clip are counted from the ONNX graph itself (every MatMul/Gemm/Einsum, with the real
shapes read back from one ONNX Runtime run) and cross-checked against the analytic count of the `tiny` preset.
Fraction of peak = encoder clips/s x FLOPs per clip / peak.

    .venv/bin/python -m bench.physical_limit [--bundle service/demo_bundle] [--seconds 3]
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper

from bench.gpu_projection import clip_flops
from bench.loadgen.machine import machine, machine_line, write_result
from service.settings import DEMO_BUNDLE
from training.configs.demo import demo_model

MATMUL_OPS = {"MatMul", "Gemm", "Einsum"}


def _session(model: onnx.ModelProto | str, threads: int) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    payload = model if isinstance(model, str) else model.SerializeToString()
    return ort.InferenceSession(payload, options, providers=["CPUExecutionProvider"])


def _einsum_flops(equation: str, shapes: list[tuple[int, ...]]) -> int:
    sizes: dict[str, int] = {}
    for letters, shape in zip(equation.split("->")[0].split(","), shapes, strict=True):
        for letter, dim in zip(letters.strip(), shape, strict=True):
            sizes[letter] = dim
    return 2 * int(np.prod(list(sizes.values())))


def graph_flops(path: Path, feeds: dict[str, np.ndarray]) -> int:
    """FLOPs of one run on `feeds`: 2 x multiply-adds of every MatMul/Gemm/Einsum/Conv, with the shapes the
    runtime actually saw (read back by exposing every operand, and every Conv output, as a graph output)."""
    model = onnx.load(str(path))
    graph = model.graph
    nodes = [n for n in graph.node if n.op_type in MATMUL_OPS]
    convs = [n for n in graph.node if n.op_type == "Conv"]
    known = {o.name for o in graph.output}
    wanted = {x for n in nodes for x in n.input if x} | {n.output[0] for n in convs}
    for name in wanted - known:
        graph.output.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, None))
    session = _session(model, 1)
    names = [o.name for o in session.get_outputs()]
    values = dict(zip(names, session.run(names, feeds), strict=True))
    inits = {i.name: tuple(i.dims) for i in graph.initializer}

    def shape(name: str) -> tuple[int, ...]:
        return tuple(values[name].shape) if name in values else inits[name]

    total = 0
    for node in nodes:
        a, b = shape(node.input[0]), shape(node.input[1])
        if node.op_type == "Einsum":
            equation = next(helper.get_attribute_value(x) for x in node.attribute if x.name == "equation")
            total += _einsum_flops(equation.decode(), [a, b])
            continue
        trans_a = any(x.name == "transA" and x.i for x in node.attribute)
        k = a[-2] if trans_a else a[-1]
        rows = int(np.prod(a)) // k  # every output row costs k multiply-adds per output column
        cols = b[0] if any(x.name == "transB" and x.i for x in node.attribute) else b[-1]
        batch = int(np.prod(b[:-2])) if len(b) > 2 and len(a) <= 2 else 1
        total += 2 * rows * k * cols * batch
    for node in convs:
        kernel = shape(node.input[1])  # (out channels, in channels / groups, *kernel size)
        total += 2 * int(np.prod(shape(node.output[0]))) * int(np.prod(kernel[1:]))
    return total


def _rate(fn: Any, seconds: float) -> tuple[float, int]:
    fn()  # warm-up
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        fn()
        count += 1
    return count / (time.perf_counter() - start), count


def _ort_gemm_peak(op: str, x: np.ndarray, w: np.ndarray, out: int, threads: int, seconds: float) -> float:
    """Giga-ops/s (a multiply-add is 2) of x @ w, both n x n, as one `op` node alone in an ONNX Runtime
    session at `threads` intra-op threads; `out` is the output's ONNX element type."""
    n = x.shape[0]
    a = helper.make_tensor_value_info("a", helper.np_dtype_to_tensor_dtype(x.dtype), [n, n])
    b = helper.make_tensor_value_info("b", helper.np_dtype_to_tensor_dtype(w.dtype), [n, n])
    c = helper.make_tensor_value_info("c", out, [n, n])
    model = helper.make_model(
        helper.make_graph([helper.make_node(op, ["a", "b"], ["c"])], op, [a, b], [c]),
        opset_imports=[helper.make_opsetid("", 18)],
        ir_version=10,  # the newest onnx writes an IR version older runtimes refuse
    )
    session = _session(model, threads)
    per_s, _ = _rate(lambda: session.run(None, {"a": x, "b": w}), seconds)
    return per_s * 2 * n**3 / 1e9


def matmul_peak(threads: int, n: int, seconds: float) -> float:
    """GFLOP/s of an n x n x n fp32 MatMul in ONNX Runtime at `threads` intra-op threads."""
    x = np.random.default_rng(0).standard_normal((n, n), dtype=np.float32)
    return _ort_gemm_peak("MatMul", x, x, TensorProto.FLOAT, threads, seconds)


def matmul_int8_peak(threads: int, n: int, seconds: float) -> float:
    """GIGA-OP/s of an n x n x n uint8 x int8 -> int32 MatMulInteger in ONNX Runtime: the kernel an int8
    bundle's dynamically quantized MatMuls run on (VNNI / AMX where the CPU has them)."""
    rng = np.random.default_rng(0)
    x = rng.integers(0, 255, (n, n), dtype=np.uint8)
    w = rng.integers(-127, 127, (n, n), dtype=np.int8)
    return _ort_gemm_peak("MatMulInteger", x, w, TensorProto.INT32, threads, seconds)


def numpy_peak(n: int, seconds: float) -> float:
    x = np.random.default_rng(0).standard_normal((n, n), dtype=np.float32)
    per_s, _ = _rate(lambda: x @ x, seconds)
    return per_s * 2 * n**3 / 1e9


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--bundle", type=Path, default=DEMO_BUNDLE)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--gemm-n", type=int, default=1024)
    args = parser.parse_args()

    manifest = json.loads((args.bundle / "manifest.json").read_text())
    t, s = manifest["video"]["num_frames"], manifest["video"]["image_size"]
    video_path = args.bundle / manifest["video_encoder"]["file"]
    one = np.random.default_rng(0).random((1, t, s, s, 3), dtype=np.float32)
    flops_graph = graph_flops(video_path, {"frames": one})
    flops_analytic = clip_flops(demo_model())["total"]
    print(machine_line())
    print(f"video encoder FLOPs per clip: graph {flops_graph / 1e6:.1f} MFLOP, analytic demo model "
          f"{flops_analytic / 1e6:.1f} MFLOP")  # fmt: skip

    rows = []
    batch = np.random.default_rng(1).random((args.batch, t, s, s, 3), dtype=np.float32)
    ort_threads = len(os.sched_getaffinity(0))
    thread_counts = sorted({1, ort_threads})
    for threads in thread_counts:
        peak = matmul_peak(threads, args.gemm_n, args.seconds)
        session = _session(str(video_path), threads)
        runs_per_s, runs = _rate(lambda s=session: s.run(None, {"frames": batch}), args.seconds)
        clips_per_s = runs_per_s * args.batch
        achieved = clips_per_s * flops_graph / 1e9
        row = {"threads": threads, "ort_matmul_peak_gflops": peak, "encoder_clips_per_s": clips_per_s,
               "encoder_gflops": achieved, "fraction_of_peak": achieved / peak, "runs": runs}  # fmt: skip
        rows.append(row)
        print(f"threads={threads}: ORT fp32 GEMM {args.gemm_n}^3 peak {peak:7.1f} GFLOP/s; encoder batch "
              f"{args.batch}: {clips_per_s:8.1f} clips/s = {achieved:6.1f} GFLOP/s = {100 * achieved / peak:5.1f} % of peak")  # fmt: skip
    int8_peaks = {t: matmul_int8_peak(t, args.gemm_n, args.seconds) for t in thread_counts}
    for threads, peak in int8_peaks.items():
        print(f"threads={threads}: ORT int8 MatMulInteger {args.gemm_n}^3 peak {peak:7.1f} GOP/s")
    np_peak = numpy_peak(args.gemm_n, args.seconds)
    print(f"numpy fp32 GEMM {args.gemm_n}^3 (default BLAS threads): {np_peak:.1f} GFLOP/s")
    path = write_result(
        "physical_limit",
        {"machine": machine(), "bundle": str(args.bundle), "batch": args.batch, "gemm_n": args.gemm_n,
         "flops_per_clip_graph": flops_graph, "flops_per_clip_analytic_tiny": flops_analytic,
         "numpy_gemm_gflops": np_peak,
         "ort_int8_matmul_peak_gops": {str(t): p for t, p in int8_peaks.items()}, "max_threads": ort_threads, "rows": rows},
    )  # fmt: skip
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
