"""Chooses how an encoder runs: TensorRT engine → onnxruntime TensorRT EP → CUDA EP → CPU EP.

`select_runtime` is a pure function of a `RuntimeEnvironment` so the GPU branches are unit-tested on CPU
machines by injecting the environment; `RuntimeEnvironment.detect()` is the only part that probes.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from typing import Literal

from videoprism_bundle.manifest import TensorRTEngineSpec

TRT_EP = "TensorrtExecutionProvider"
CUDA_EP = "CUDAExecutionProvider"
CPU_EP = "CPUExecutionProvider"


@dataclass(frozen=True)
class RuntimeEnvironment:
    ort_providers: tuple[str, ...]
    tensorrt_version: str | None  # None: the `tensorrt` package is not importable
    cuda_python_available: bool  # TensorRT engines need it for device buffers
    cuda_device_count: int
    gpu_name: str | None = None
    compute_capability: str | None = None  # "8.9"

    @classmethod
    def detect(cls, device_id: int = 0) -> RuntimeEnvironment:
        import onnxruntime as ort

        trt_version = None
        if importlib.util.find_spec("tensorrt") is not None:
            try:
                import tensorrt

                trt_version = str(tensorrt.__version__)
            except Exception:  # a broken install counts as absent; the reason string says so
                trt_version = None
        count, name, capability = _probe_gpu(device_id)
        return cls(
            ort_providers=tuple(ort.get_available_providers()),
            tensorrt_version=trt_version,
            cuda_python_available=importlib.util.find_spec("cuda") is not None,
            cuda_device_count=count,
            gpu_name=name,
            compute_capability=capability,
        )


def _probe_gpu(device_id: int) -> tuple[int, str | None, str | None]:
    try:
        import pynvml

        pynvml.nvmlInit()
        try:
            count = int(pynvml.nvmlDeviceGetCount())
            if count <= device_id:
                return count, None, None
            handle = pynvml.nvmlDeviceGetHandleByIndex(device_id)
            name = pynvml.nvmlDeviceGetName(handle)
            major, minor = pynvml.nvmlDeviceGetCudaComputeCapability(handle)
            return count, name.decode() if isinstance(name, bytes) else str(name), f"{major}.{minor}"
        finally:
            pynvml.nvmlShutdown()
    except Exception:  # no driver, no NVML, no GPU: all mean "no CUDA device" here
        return 0, None, None


@dataclass(frozen=True)
class RuntimeChoice:
    runtime: Literal["tensorrt", "onnxruntime"]
    provider: str  # the engine file's runtime or the first ORT provider
    providers: tuple[str, ...]  # ORT providers in priority order (empty for a TensorRT engine)
    engine: TensorRTEngineSpec | None
    reason: str


def select_runtime(
    source: Literal["video_encoder", "text_encoder"],
    engines: list[TensorRTEngineSpec],
    env: RuntimeEnvironment,
    *,
    force_cpu: bool = False,
) -> RuntimeChoice:
    if force_cpu:
        return RuntimeChoice("onnxruntime", CPU_EP, (CPU_EP,), None, "CPU forced by settings")
    skipped: list[str] = []
    engine, why_not = _usable_engine(source, engines, env)
    if engine is not None:
        return RuntimeChoice(
            "tensorrt", "tensorrt-engine", (), engine, f"TensorRT engine {engine.file} matches this GPU"
        )
    skipped.append(f"TensorRT engine: {why_not}")
    has_gpu = env.cuda_device_count > 0
    for provider in (TRT_EP, CUDA_EP):
        if provider not in env.ort_providers:
            skipped.append(f"{provider}: not in this onnxruntime build")
        elif not has_gpu:
            skipped.append(f"{provider}: no CUDA device")
        else:
            # Lower providers stay in the list: ORT assigns nodes a provider cannot run to the next one.
            wanted: tuple[str, ...] = (TRT_EP, CUDA_EP, CPU_EP) if provider == TRT_EP else (CUDA_EP, CPU_EP)
            chain = tuple(p for p in wanted if p in env.ort_providers or p == CPU_EP)
            return RuntimeChoice(
                "onnxruntime", provider, chain, None, "; ".join([*skipped, f"{provider}: available"])
            )
    return RuntimeChoice("onnxruntime", CPU_EP, (CPU_EP,), None, "; ".join(skipped))


def _usable_engine(
    source: str, engines: list[TensorRTEngineSpec], env: RuntimeEnvironment
) -> tuple[TensorRTEngineSpec | None, str]:
    candidates = [e for e in engines if e.source == source]
    if not candidates:
        return None, f"none in the bundle for {source}"
    if env.tensorrt_version is None:
        return None, "tensorrt not installed"
    if not env.cuda_python_available:
        return None, "cuda-python not installed"
    if env.cuda_device_count == 0:
        return None, "no CUDA device"
    problems = []
    for engine in candidates:
        # Serialized engines only load on the TensorRT minor version and GPU architecture they were built for.
        if _major_minor(engine.tensorrt_version) != _major_minor(env.tensorrt_version):
            problems.append(
                f"{engine.file} built with TensorRT {engine.tensorrt_version}, installed {env.tensorrt_version}"
            )
        elif engine.compute_capability != env.compute_capability:
            problems.append(
                f"{engine.file} built for compute capability {engine.compute_capability}, GPU has {env.compute_capability}"
            )
        else:
            return engine, ""
    return None, "; ".join(problems)


def _major_minor(version: str) -> str:
    return ".".join(version.split(".")[:2])
