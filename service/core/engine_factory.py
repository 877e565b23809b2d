"""Builds the encoders' engines from a verified bundle: picks the runtime per encoder (logging the choice
and its reason) and falls back to onnxruntime when a TensorRT engine fails to load."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Literal

from service.core.backends import DummyBackend, OnnxRuntimeBackend, SessionBackend
from service.core.engines import TextEngine, VideoEngine
from service.core.parallelism import BIG_MODEL_CLIPS_PER_RUN, Placement
from service.core.runtime_selection import CPU_EP, RuntimeEnvironment, select_runtime
from service.core.settings import RuntimeSettings
from videoprism_bundle.loader import Bundle
from videoprism_bundle.manifest import BundleManifest, TextSpec

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Engines:
    video: VideoEngine
    text: TextEngine | None


def _backend(
    bundle: Bundle,
    source: Literal["video_encoder", "text_encoder"],
    settings: RuntimeSettings,
    env: RuntimeEnvironment,
    big_model: bool,
) -> tuple[SessionBackend, str]:
    manifest = bundle.manifest
    model = bundle.video_encoder if source == "video_encoder" else bundle.text_encoder
    assert model is not None  # the loader guarantees the file when the spec exists
    choice = select_runtime(source, manifest.tensorrt_engines, env, force_cpu=settings.device == "cpu")
    reason = choice.reason
    if choice.engine is not None:
        try:
            from service.core.backend_tensorrt import TensorRTBackend

            backend: SessionBackend = TensorRTBackend(
                bundle.path_of(choice.engine.file), device_id=settings.device_id
            )
            log.info("%s: runtime tensorrt (%s)", source, reason)
            return backend, reason
        except Exception as exc:
            # A stale engine must not stop the service: the ONNX graph is always there as a fallback.
            reason = f"TensorRT engine failed to load ({type(exc).__name__}: {exc})"
            choice = select_runtime(source, [], env, force_cpu=settings.device == "cpu")
            reason = f"{reason}; {choice.reason}"
    backend = OnnxRuntimeBackend(
        model,
        choice.providers,
        intra_op_threads=settings.intra_op_threads,
        allow_spinning=settings.allow_spinning,
        memory_arena=not big_model,
    )
    if backend.provider != choice.provider:
        reason = f"{reason}; onnxruntime fell back from {choice.provider} to {backend.provider}"
    log.info("%s: runtime onnxruntime/%s (%s)", source, backend.provider, reason)
    return backend, reason


def predict_placement(bundle: Bundle, settings: RuntimeSettings, env: RuntimeEnvironment) -> Placement:
    """Which encoders the runtime selection will put on the CPU (before any session is built, so the
    intra-op thread count can depend on it). A TensorRT engine that then fails to load falls back to a
    GPU provider or the CPU; the worker count chosen for the GPU stays correct either way (one)."""
    engines = bundle.manifest.tensorrt_engines
    force_cpu = settings.device == "cpu"

    def on_cpu(source: Literal["video_encoder", "text_encoder"]) -> bool:
        return select_runtime(source, engines, env, force_cpu=force_cpu).provider == CPU_EP

    return Placement(video_on_cpu=on_cpu("video_encoder"), text_on_cpu=on_cpu("text_encoder"))


def build_engines(
    bundle: Bundle,
    settings: RuntimeSettings,
    env: RuntimeEnvironment | None = None,
    *,
    big_model: bool = False,
) -> Engines:
    """`big_model` (see service/core/parallelism.py): sessions without onnxruntime's CPU memory arena, and
    on the CPU a video batch runs BIG_MODEL_CLIPS_PER_RUN clips at a time."""
    env = env or RuntimeEnvironment.detect(settings.device_id)
    manifest = bundle.manifest
    video_backend, video_reason = _backend(bundle, "video_encoder", settings, env, big_model)
    video = video_engine(
        manifest,
        video_backend,
        value_range=manifest.video.value_range,
        reason=video_reason,
        max_items_per_run=BIG_MODEL_CLIPS_PER_RUN if big_model and video_backend.provider == CPU_EP else 0,
    )
    text = None
    if manifest.text_encoder is not None and manifest.text is not None:
        text_backend, text_reason = _backend(bundle, "text_encoder", settings, env, big_model)
        text = text_engine(manifest.embedding_dim, manifest.text, text_backend, text_reason)
    return Engines(video=video, text=text)


def video_engine(
    manifest: BundleManifest,
    backend: SessionBackend,
    *,
    value_range: tuple[float, float] = (0.0, 1.0),
    reason: str = "",
    max_items_per_run: int = 0,
) -> VideoEngine:
    """A video engine over `backend` with the bundle's vector size and frame spec."""
    return VideoEngine(
        backend,
        embedding_dim=manifest.embedding_dim,
        num_frames=manifest.video.num_frames,
        image_size=manifest.video.image_size,
        value_range=value_range,
        reason=reason,
        max_items_per_run=max_items_per_run,
    )


def text_engine(embedding_dim: int, spec: TextSpec, backend: SessionBackend, reason: str) -> TextEngine:
    return TextEngine(
        backend, embedding_dim=embedding_dim, max_length=spec.max_length, pad_id=spec.pad_id, reason=reason
    )


def build_dummy_engines(bundle: Bundle) -> Engines:
    """numpy engines with the bundle's shapes; for front-door tests that exercise everything but ONNX."""
    manifest = bundle.manifest
    backend = DummyBackend(manifest.embedding_dim)
    reason = "dummy engine requested"
    video = video_engine(manifest, backend, reason=reason)
    text = None
    if manifest.text is not None:
        text = text_engine(manifest.embedding_dim, manifest.text, backend, reason)
    return Engines(video=video, text=text)
