"""Session backends: the part of an engine that executes a graph. All `run` calls block; the batcher
calls them from its worker thread, never from the event loop."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Protocol

import numpy as np
import numpy.typing as npt

from videoprism_bundle.tensor_names import EMBEDDINGS, INPUT_IDS, PADDINGS, VIDEO_INPUT

Feeds = dict[str, npt.NDArray[np.generic]]


class SessionBackend(Protocol):
    runtime: str
    provider: str
    # Whether `run` may be called from several threads at once (batcher workers > 1).
    thread_safe: bool

    def run(self, feeds: Feeds) -> npt.NDArray[np.float32]:
        """Runs one batch and returns the `embeddings` output [B, D]."""
        ...


class OnnxRuntimeBackend:
    runtime = "onnxruntime"
    thread_safe = True  # InferenceSession.run is documented as safe to call concurrently

    def __init__(
        self,
        model: Path,
        providers: tuple[str, ...],
        *,
        output_name: str = EMBEDDINGS,
        intra_op_threads: int = 0,
        allow_spinning: bool = False,
        memory_arena: bool = True,
    ) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        if not memory_arena:
            # The arena keeps the largest batch's activations (and their fragments) for the process's life;
            # a big model's run lasts seconds, so asking malloc each time costs nothing measurable.
            options.enable_cpu_mem_arena = False
            # Weights outside the arena too, so an arena chunk is never sized by an initializer.
            options.add_session_config_entry("session.use_device_allocator_for_initializers", "1")
        if intra_op_threads > 0:
            options.intra_op_num_threads = intra_op_threads
        if not allow_spinning:
            options.add_session_config_entry("session.intra_op.allow_spinning", "0")
            options.add_session_config_entry("session.inter_op.allow_spinning", "0")
        self._session = ort.InferenceSession(str(model), sess_options=options, providers=list(providers))
        self._output_name = output_name
        # ORT may drop a requested provider (e.g. CUDA libs missing); report what it actually uses.
        self.provider = self._session.get_providers()[0]

    def run(self, feeds: Feeds) -> npt.NDArray[np.float32]:
        (out,) = self._session.run([self._output_name], feeds)
        return np.asarray(out, dtype=np.float32)


class DummyBackend:
    """numpy-only stand-in with the real encoders' contract (deterministic, L2-normalized [B, D]) for
    front-door tests that must not depend on model files."""

    runtime = "dummy"
    provider = "numpy"
    thread_safe = True

    def __init__(self, embedding_dim: int, *, seed: int = 0) -> None:
        self._dim = embedding_dim
        self._seed = seed
        self._projections: dict[int, npt.NDArray[np.float32]] = {}

    def _projection(self, features: int) -> npt.NDArray[np.float32]:
        if features not in self._projections:
            rng = np.random.default_rng([self._seed, features])
            self._projections[features] = rng.standard_normal((features, self._dim)).astype(np.float32)
        return self._projections[features]

    def run(self, feeds: Feeds) -> npt.NDArray[np.float32]:
        if VIDEO_INPUT in feeds:
            frames = feeds[VIDEO_INPUT].astype(np.float32)
            features = frames.mean(axis=(2, 3)).reshape(frames.shape[0], -1) - 0.5  # [B, T*3]
        else:
            ids, paddings = feeds[INPUT_IDS], feeds[PADDINGS]
            # Hashing ids into 64 buckets keeps the projection small for any vocabulary.
            buckets = np.zeros((ids.shape[0], 64), dtype=np.float32)
            for row in range(ids.shape[0]):
                for token, pad in zip(ids[row], paddings[row], strict=True):
                    if pad < 0.5:
                        buckets[
                            row, int(hashlib.blake2b(int(token).to_bytes(8, "little")).digest()[0]) % 64
                        ] += 1
            features = buckets
        projected = features @ self._projection(features.shape[1])
        norms = np.linalg.norm(projected, axis=1, keepdims=True)
        return (projected / np.maximum(norms, 1e-12)).astype(np.float32)
