"""The engine alone: an onnxruntime session fed ready-made batches in a loop with nothing around it, the
figure served throughput is compared with (bench/batching.py), and the inputs both sides send."""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass

import numpy as np

from service.core import RuntimeSettings
from service.core.backends import OnnxRuntimeBackend
from service.core.runtime_selection import CPU_EP
from service.text import TextTokenizer
from videoprism_bundle.loader import Bundle
from videoprism_bundle.tensor_names import INPUT_IDS, PADDINGS, VIDEO_INPUT


def texts(count: int) -> list[str]:
    words = [
        "dog",
        "cat",
        "chef",
        "robot",
        "bird",
        "kid",
        "park",
        "kitchen",
        "ball",
        "street",
        "beach",
        "box",
    ]
    rng = np.random.default_rng(0)
    return [" ".join(rng.choice(words, size=int(rng.integers(3, 12)))) + f" {i}" for i in range(count)]


def clips(bundle: Bundle, count: int) -> list[np.ndarray]:
    spec = bundle.manifest.video
    rng = np.random.default_rng(0)
    shape = (spec.num_frames, spec.image_size, spec.image_size, 3)
    return [rng.integers(0, 256, shape, dtype=np.uint8) for _ in range(count)]


def bare_session(bundle: Bundle, kind: str, runtime: RuntimeSettings) -> OnnxRuntimeBackend:
    model = bundle.text_encoder if kind == "text" else bundle.video_encoder
    assert model is not None
    return OnnxRuntimeBackend(
        model, (CPU_EP,), intra_op_threads=runtime.intra_op_threads, allow_spinning=runtime.allow_spinning
    )


def bare_feeds(bundle: Bundle, kind: str, batch: int) -> dict[str, np.ndarray]:
    """Ready-made batches: what the served path must build per batch is not in the bare figure."""
    if kind == "text":
        assert bundle.tokenizer is not None and bundle.manifest.text is not None
        tokens = TextTokenizer(bundle.tokenizer, max_length=bundle.manifest.text.max_length).encode_batch(
            texts(batch)
        )
        return {INPUT_IDS: tokens.ids, PADDINGS: tokens.paddings}
    return {VIDEO_INPUT: np.stack(clips(bundle, batch)).astype(np.float32) / 255.0}


def bare_throughput(
    session: OnnxRuntimeBackend, feeds: dict[str, np.ndarray], seconds: float, loops: int = 1
) -> float:
    """Items/s of the session fed the same ready-made batch in a loop, by `loops` threads at once
    (onnxruntime's run is thread-safe and releases the GIL)."""
    batch = len(next(iter(feeds.values())))
    session.run(feeds)
    runs = [0] * loops
    started = time.perf_counter()

    def loop(slot: int) -> None:
        while time.perf_counter() - started < seconds or runs[slot] < 2:
            session.run(feeds)
            runs[slot] += 1

    threads = [threading.Thread(target=loop, args=(slot,)) for slot in range(loops)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(runs) * batch / (time.perf_counter() - started)


@dataclass
class BareSessions:
    """The bare figure is the best of the engine alone, whatever the served configuration: one loop on a
    session with onnxruntime's default threads (the whole machine), and one loop per core on a session with
    one intra-op thread each (on a small model this is often the faster way to fill the machine)."""

    default: OnnxRuntimeBackend
    single_threaded: OnnxRuntimeBackend
    loops: int

    @classmethod
    def create(cls, bundle: Bundle, kind: str) -> BareSessions:
        default = bare_session(bundle, kind, RuntimeSettings(device="cpu"))
        single = bare_session(bundle, kind, RuntimeSettings(device="cpu", intra_op_threads=1))
        return cls(default, single, os.cpu_count() or 1)

    def throughput(self, feeds: dict[str, np.ndarray], seconds: float) -> dict[str, float]:
        return {
            "default_threads": bare_throughput(self.default, feeds, seconds),
            "loop_per_core": bare_throughput(self.single_threaded, feeds, seconds, self.loops),
        }
