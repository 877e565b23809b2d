"""TensorRT engines for a bundle: optimization-profile shapes from the manifest, the build, the record.

Everything except `build_serialized_engine` runs without a GPU, so the shape and manifest logic is tested
on any machine; the build itself imports TensorRT lazily and needs an NVIDIA GPU.
"""

from __future__ import annotations

import ctypes
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from training.export.manifest_io import read_manifest, sha256_file, write_manifest
from videoprism_bundle.manifest import BundleManifest, OnnxModelSpec, TensorRTEngineSpec

GraphName = Literal["video_encoder", "text_encoder"]
Shape = tuple[int, ...]


class TensorRTUnavailable(RuntimeError):
    """No usable GPU or TensorRT on this machine; the message says which and what to do."""


@dataclass(frozen=True)
class EngineBuildConfig:
    min_batch: int = 1
    opt_batch: int = 8
    max_batch: int = 32
    fp16: bool = True
    workspace_gib: float = 4.0  # builder scratch memory limit; larger allows more tactics

    def __post_init__(self) -> None:
        if not 1 <= self.min_batch <= self.opt_batch <= self.max_batch:
            raise ValueError(
                f"need 1 <= min_batch <= opt_batch <= max_batch, got {self.min_batch}/{self.opt_batch}/{self.max_batch}"
            )


@dataclass(frozen=True)
class GpuInfo:
    name: str
    compute_capability: str  # "9.0"

    @property
    def tag(self) -> str:
        return "sm" + self.compute_capability.replace(".", "")


def profile_shapes(spec: OnnxModelSpec, config: EngineBuildConfig) -> dict[str, tuple[Shape, Shape, Shape]]:
    """(min, opt, max) shape of every input: the batch axis from `config`, every other axis as declared.

    Bundles fix all non-batch axes, so any other symbolic axis means the manifest is not a bundle's.
    """
    shapes: dict[str, tuple[Shape, Shape, Shape]] = {}
    for tensor in spec.inputs:
        per_bound: list[list[int]] = [[], [], []]
        for axis, dim in enumerate(tensor.shape):
            if isinstance(dim, int):
                values = (dim, dim, dim)
            elif axis == 0:
                values = (config.min_batch, config.opt_batch, config.max_batch)
            else:
                raise ValueError(
                    f"{spec.file}: input {tensor.name!r} axis {axis} is dynamic ({dim!r}); only the batch may be"
                )
            for bound, value in zip(per_bound, values, strict=True):
                bound.append(value)
        shapes[tensor.name] = (tuple(per_bound[0]), tuple(per_bound[1]), tuple(per_bound[2]))
    return shapes


def engine_file_names(graph: GraphName, gpu: GpuInfo, fp16: bool) -> tuple[str, str]:
    """(engine, timing cache) file names: one engine per graph, GPU class and precision; one cache per GPU class."""
    precision = "fp16" if fp16 else "fp32"
    return f"{graph}.{gpu.tag}.{precision}.engine", f"tensorrt_timing.{gpu.tag}.cache"


def record_engines(
    bundle_dir: Path, manifest: BundleManifest, engines: list[TensorRTEngineSpec]
) -> BundleManifest:
    """Add `engines` (their files already in `bundle_dir`) to the manifest, replacing an engine for the same
    graph, GPU class and precision; re-hash the engine and cache files and write the manifest."""

    def key(spec: TensorRTEngineSpec) -> tuple[str, str, bool]:
        return (spec.source, spec.compute_capability, spec.fp16)

    new_keys = {key(e) for e in engines}
    kept = [e for e in manifest.tensorrt_engines if key(e) not in new_keys]
    merged = kept + list(engines)
    referenced = {e.file for e in merged} | {e.timing_cache for e in merged if e.timing_cache}
    previous_engine_files = {e.file for e in manifest.tensorrt_engines} | {
        e.timing_cache for e in manifest.tensorrt_engines if e.timing_cache
    }
    hashes = {
        name: digest for name, digest in manifest.files_sha256.items() if name not in previous_engine_files
    }
    for name in sorted(referenced):
        hashes[name] = sha256_file(bundle_dir / name)
    updated = manifest.model_copy(update={"tensorrt_engines": merged, "files_sha256": hashes})
    updated = BundleManifest.model_validate(updated.model_dump())  # re-run validation on the new fields
    write_manifest(bundle_dir, updated)
    return updated


def detect_gpu() -> GpuInfo:
    """The first NVIDIA GPU, or TensorRTUnavailable with the reason."""
    try:
        ctypes.CDLL("libcuda.so.1")
    except OSError as exc:
        raise TensorRTUnavailable(
            "no NVIDIA driver found (libcuda.so.1 is missing): TensorRT engines can only be built on a machine "
            "with an NVIDIA GPU; the bundle's ONNX files still run on the CPU"
        ) from exc
    try:
        import pynvml
    except ImportError as exc:
        raise TensorRTUnavailable(
            "nvidia-ml-py is not installed; install the GPU extra: pip install '.[gpu]'"
        ) from exc
    try:
        pynvml.nvmlInit()
        if pynvml.nvmlDeviceGetCount() == 0:
            raise TensorRTUnavailable("the NVIDIA driver reports no GPU")
        handle = pynvml.nvmlDeviceGetHandleByIndex(0)
        name = pynvml.nvmlDeviceGetName(handle)
        major, minor = pynvml.nvmlDeviceGetCudaComputeCapability(handle)
    except pynvml.NVMLError as exc:
        raise TensorRTUnavailable(f"cannot query the GPU through NVML: {exc}") from exc
    return GpuInfo(
        name=name.decode() if isinstance(name, bytes) else str(name), compute_capability=f"{major}.{minor}"
    )


def tensorrt_version() -> str:
    try:
        import tensorrt
    except ImportError as exc:
        raise TensorRTUnavailable(
            "TensorRT is not installed; install the GPU extra: pip install '.[gpu]'"
        ) from exc
    return str(tensorrt.__version__)


def build_serialized_engine(
    onnx_path: Path,
    shapes: dict[str, tuple[Shape, Shape, Shape]],
    config: EngineBuildConfig,
    timing_cache: bytes,
) -> tuple[bytes, bytes]:
    """Parse the ONNX file, build one engine with one optimization profile; returns (engine, timing cache).

    The timing cache carries kernel timings between builds on the same GPU class, so rebuilding (or
    building the second graph) skips most of the autotuning.
    """
    import tensorrt as trt

    logger = trt.Logger(trt.Logger.WARNING)
    builder = trt.Builder(logger)
    if builder is None:
        raise TensorRTUnavailable("TensorRT could not create a builder (no usable CUDA device)")
    network = builder.create_network(0)  # TensorRT 10: networks are always explicit-batch
    parser = trt.OnnxParser(network, logger)
    if not parser.parse_from_file(str(onnx_path)):
        errors = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
        raise RuntimeError(f"{onnx_path.name}: TensorRT cannot parse the ONNX graph: {errors}")
    builder_config = builder.create_builder_config()
    builder_config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, int(config.workspace_gib * (1 << 30)))
    if config.fp16:
        builder_config.set_flag(trt.BuilderFlag.FP16)
    cache = builder_config.create_timing_cache(timing_cache)
    builder_config.set_timing_cache(cache, ignore_mismatch=False)
    profile = builder.create_optimization_profile()
    for name, (low, opt, high) in shapes.items():
        profile.set_shape(name, low, opt, high)
    builder_config.add_optimization_profile(profile)
    serialized = builder.build_serialized_network(network, builder_config)
    if serialized is None:
        raise RuntimeError(f"{onnx_path.name}: TensorRT failed to build an engine (see the log above)")
    return bytes(serialized), bytes(builder_config.get_timing_cache().serialize())


def build_engines(
    bundle_dir: Path,
    config: EngineBuildConfig,
    graphs: tuple[GraphName, ...] = ("video_encoder", "text_encoder"),
) -> BundleManifest:
    """Build an engine for each requested graph the bundle has, store engines + timing cache, update the manifest."""
    manifest = read_manifest(bundle_dir)
    if manifest.precision == "int8":
        raise ValueError(
            "int8 bundles use ONNX Runtime's CPU quantized ops, which TensorRT cannot parse; "
            "build engines from an fp32 or fp16 bundle"
        )
    specs = {"video_encoder": manifest.video_encoder, "text_encoder": manifest.text_encoder}
    todo = [(graph, spec) for graph, spec in specs.items() if graph in graphs and spec is not None]
    shapes = {graph: profile_shapes(spec, config) for graph, spec in todo}  # shape errors before any GPU work
    gpu = detect_gpu()
    version = tensorrt_version()
    engines: list[TensorRTEngineSpec] = []
    for graph, spec in todo:
        engine_name, cache_name = engine_file_names(graph, gpu, config.fp16)  # type: ignore[arg-type]
        cache_path = bundle_dir / cache_name
        cache = cache_path.read_bytes() if cache_path.is_file() else b""
        engine, cache = build_serialized_engine(bundle_dir / spec.file, shapes[graph], config, cache)
        (bundle_dir / engine_name).write_bytes(engine)
        cache_path.write_bytes(cache)
        engines.append(
            TensorRTEngineSpec(
                file=engine_name,
                source=graph,  # type: ignore[arg-type]
                fp16=config.fp16,
                min_batch=config.min_batch,
                opt_batch=config.opt_batch,
                max_batch=config.max_batch,
                timing_cache=cache_name,
                tensorrt_version=version,
                gpu_name=gpu.name,
                compute_capability=gpu.compute_capability,
            )
        )
    return record_engines(bundle_dir, manifest, engines)
