"""Runs a serialized TensorRT engine (TensorRT 10 tensor API) with device buffers from cuda-python.

Only reachable when `select_runtime` found `tensorrt`, cuda-python and a matching GPU; it cannot run on
the CPU-only CI, where its selection logic is what is tested.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from service.core.backends import Feeds
from videoprism_bundle.tensor_names import EMBEDDINGS


def _cudart() -> Any:
    try:
        from cuda.bindings import runtime  # cuda-python >= 12.6
    except ImportError:
        from cuda import cudart as runtime  # older cuda-python layout
    return runtime


def _check(result: Any) -> Any:
    err, *rest = result if isinstance(result, tuple) else (result,)
    if int(err) != 0:
        raise RuntimeError(f"CUDA runtime error {err}")
    return rest[0] if len(rest) == 1 else rest


class TensorRTBackend:
    runtime = "tensorrt"
    provider = "tensorrt-engine"
    thread_safe = False  # one CUDA stream and grow-only buffers shared by every run

    def __init__(self, engine_file: Path, *, output_name: str = EMBEDDINGS, device_id: int = 0) -> None:
        import tensorrt as trt

        self._trt = trt
        self._cuda = _cudart()
        _check(self._cuda.cudaSetDevice(device_id))
        self._logger = trt.Logger(trt.Logger.WARNING)
        self._engine = trt.Runtime(self._logger).deserialize_cuda_engine(engine_file.read_bytes())
        if self._engine is None:
            raise RuntimeError(f"{engine_file}: TensorRT could not deserialize the engine")
        self._context = self._engine.create_execution_context()
        self._stream = _check(self._cuda.cudaStreamCreate())
        self._output_name = output_name
        # Grow-only device buffers: reallocating per batch would dominate small-batch latency.
        self._buffers: dict[str, tuple[int, int]] = {}

    def _buffer(self, name: str, nbytes: int) -> int:
        pointer, capacity = self._buffers.get(name, (0, 0))
        if capacity < nbytes:
            if pointer:
                _check(self._cuda.cudaFree(pointer))
            pointer = int(_check(self._cuda.cudaMalloc(nbytes)))
            self._buffers[name] = (pointer, nbytes)
        return pointer

    def run(self, feeds: Feeds) -> npt.NDArray[np.float32]:
        trt, cuda = self._trt, self._cuda
        h2d, d2h = cuda.cudaMemcpyKind.cudaMemcpyHostToDevice, cuda.cudaMemcpyKind.cudaMemcpyDeviceToHost
        for name, array in feeds.items():
            host = np.ascontiguousarray(array, dtype=trt.nptype(self._engine.get_tensor_dtype(name)))
            self._context.set_input_shape(name, host.shape)
            pointer = self._buffer(name, host.nbytes)
            _check(cuda.cudaMemcpyAsync(pointer, host.ctypes.data, host.nbytes, h2d, self._stream))
            self._context.set_tensor_address(name, pointer)
        shape = tuple(self._context.get_tensor_shape(self._output_name))
        out = np.empty(shape, dtype=trt.nptype(self._engine.get_tensor_dtype(self._output_name)))
        out_pointer = self._buffer(self._output_name, out.nbytes)
        self._context.set_tensor_address(self._output_name, out_pointer)
        if not self._context.execute_async_v3(self._stream):
            raise RuntimeError("TensorRT execute_async_v3 failed")
        _check(cuda.cudaMemcpyAsync(out.ctypes.data, out_pointer, out.nbytes, d2h, self._stream))
        _check(cuda.cudaStreamSynchronize(self._stream))
        return out.astype(np.float32, copy=False)
