"""Real engines (real ONNX Runtime sessions) with a recorder, a gate and an optional injected fault:
the gate and the fault produce timings and failures a healthy session cannot, nothing else is faked."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

import numpy as np
import numpy.typing as npt

from service.core.backends import OnnxRuntimeBackend
from service.core.engines import TextEngine, TokenRow, VideoEngine
from service.core.runtime_selection import CPU_EP
from service.core.types import Vector
from videoprism_bundle.loader import Bundle


class RecordingVideoEngine(VideoEngine):
    """Items carry their id in the first pixel; `batches` records the ids of every batch that ran."""

    def __init__(self, bundle: Bundle) -> None:
        manifest = bundle.manifest
        super().__init__(
            OnnxRuntimeBackend(bundle.video_encoder, (CPU_EP,)),
            embedding_dim=manifest.embedding_dim,
            num_frames=manifest.video.num_frames,
            image_size=manifest.video.image_size,
        )
        self.batches: list[list[int]] = []
        self.gate = threading.Event()
        self.gate.set()
        self.started = threading.Event()
        self.fail_when: Callable[[list[int]], bool] | None = None
        self._lock = threading.Lock()
        self.running = 0  # batches inside run_batch right now
        self.most_running = 0

    def clip(self, item_id: int) -> npt.NDArray[np.uint8]:
        frames = np.random.default_rng(item_id).integers(0, 256, self.shape, dtype=np.uint8)
        frames[0, 0, 0, 0] = item_id
        return frames

    def run_batch(self, items: Sequence[npt.NDArray[np.uint8]]) -> list[Vector]:
        with self._lock:
            self.running += 1
            self.most_running = max(self.most_running, self.running)
        try:
            self.started.set()
            assert self.gate.wait(10), "test never opened the gate"
            ids = [int(item[0, 0, 0, 0]) for item in items]
            self.batches.append(ids)
            if self.fail_when is not None and self.fail_when(ids):
                raise RuntimeError("injected engine fault")
            return super().run_batch(items)
        finally:
            with self._lock:
                self.running -= 1


class RecordingTextEngine(TextEngine):
    def __init__(self, bundle: Bundle) -> None:
        assert bundle.text_encoder is not None and bundle.manifest.text is not None
        super().__init__(
            OnnxRuntimeBackend(bundle.text_encoder, (CPU_EP,)),
            embedding_dim=bundle.manifest.embedding_dim,
            max_length=bundle.manifest.text.max_length,
        )
        self.batches: list[list[int]] = []  # costs of the rows of every batch

    def row(self, num_tokens: int) -> TokenRow:
        return TokenRow(ids=[3] * num_tokens)

    def run_batch(self, items: Sequence[TokenRow]) -> list[Vector]:
        self.batches.append([self.cost(item) for item in items])
        return super().run_batch(items)
