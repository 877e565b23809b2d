"""The hot-path shortcuts of the engines and the video pipeline give exactly what the plain formulas give."""

from __future__ import annotations

import hashlib

import numpy as np

from service.core.backends import OnnxRuntimeBackend
from service.core.engine_factory import video_engine
from service.core.engines import VideoEngine
from service.core.runtime_selection import CPU_EP
from service.core.video_pipeline import frames_sha256
from videoprism_bundle.loader import Bundle
from videoprism_bundle.tensor_names import VIDEO_INPUT


def _engine(bundle: Bundle, value_range: tuple[float, float]) -> VideoEngine:
    return video_engine(
        bundle.manifest, OnnxRuntimeBackend(bundle.video_encoder, (CPU_EP,)), value_range=value_range
    )


def test_video_preprocess_matches_stack_and_scale(tiny_bundle: Bundle) -> None:
    rng = np.random.default_rng(3)
    for low, high in ((0.0, 1.0), (-1.0, 1.0)):
        engine = _engine(tiny_bundle, (low, high))
        clips = [rng.integers(0, 256, engine.shape, dtype=np.uint8) for _ in range(3)]
        expected = np.stack(clips).astype(np.float32) * np.float32((high - low) / 255.0) + np.float32(low)
        frames = np.asarray(engine.preprocess(clips)[VIDEO_INPUT], dtype=np.float32)
        assert frames.dtype == np.float32 and frames.shape == (3, *engine.shape)
        assert float(np.max(np.abs(frames - expected))) <= 1e-6


async def test_frames_hash_is_the_same_inline_and_on_a_thread() -> None:
    rng = np.random.default_rng(4)
    small = [rng.integers(0, 256, (2, 8, 8, 3), dtype=np.uint8)]  # hashed on the loop
    large = [rng.integers(0, 256, (8, 128, 128, 3), dtype=np.uint8) for _ in range(3)]  # on a thread
    strided = [large[0][:, ::2, ::2]]  # not contiguous

    def reference(clips: list[np.ndarray]) -> str:
        digest = hashlib.sha256()
        for clip in clips:
            digest.update(str(clip.shape).encode())
            digest.update(clip.tobytes())
        return digest.hexdigest()

    for clips in (small, large, strided):
        assert await frames_sha256(clips) == reference(clips)
