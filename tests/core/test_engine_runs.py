"""A batch split into several runtime runs (`max_items_per_run`): same embeddings as one run, smaller runs,
and warm-up that runs each run shape once."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from service.core import RuntimeSettings
from service.core.backends import Feeds, OnnxRuntimeBackend
from service.core.engine_factory import build_engines, video_engine
from service.core.engines import VideoEngine
from service.core.parallelism import BIG_MODEL_CLIPS_PER_RUN
from service.core.runtime_selection import CPU_EP
from videoprism_bundle.loader import Bundle
from videoprism_bundle.tensor_names import VIDEO_INPUT


class RunSizeRecorder(OnnxRuntimeBackend):
    """A real session that records the batch size of every run it executes."""

    def __init__(self, bundle: Bundle) -> None:
        super().__init__(bundle.video_encoder, (CPU_EP,), intra_op_threads=1)
        self.run_sizes: list[int] = []

    def run(self, feeds: Feeds) -> npt.NDArray[np.float32]:
        self.run_sizes.append(int(feeds[VIDEO_INPUT].shape[0]))
        return super().run(feeds)


def _engine(bundle: Bundle, max_items_per_run: int) -> tuple[VideoEngine, RunSizeRecorder]:
    backend = RunSizeRecorder(bundle)
    return video_engine(bundle.manifest, backend, max_items_per_run=max_items_per_run), backend


def _clips(engine: VideoEngine, count: int) -> list[npt.NDArray[np.uint8]]:
    rng = np.random.default_rng(3)
    return [rng.integers(0, 256, engine.shape, dtype=np.uint8) for _ in range(count)]


def test_a_batch_in_runs_of_two_gives_the_embeddings_of_one_run(tiny_bundle: Bundle) -> None:
    whole, whole_backend = _engine(tiny_bundle, 0)
    split, split_backend = _engine(tiny_bundle, 2)
    clips = _clips(whole, 5)
    expected = whole.run_batch(clips)
    got = split.run_batch(clips)
    assert whole_backend.run_sizes == [5]
    assert split_backend.run_sizes == [2, 2, 1]
    assert len(got) == 5
    for a, b in zip(got, expected, strict=True):
        np.testing.assert_allclose(a, b, atol=1e-5)


def test_warmup_runs_each_run_shape_once(tiny_bundle: Bundle) -> None:
    engine, backend = _engine(tiny_bundle, 1)
    engine.warmup([1, 8])
    # Batch 8 runs as eight one-clip runs: the shape batch 1 already warmed.
    assert backend.run_sizes == [1]
    assert engine.warmed_batch_sizes == (1, 8)
    engine.warmup([4])
    assert backend.run_sizes == [1] and engine.warmed_batch_sizes == (1, 4, 8)


def test_a_big_model_on_the_cpu_runs_one_clip_at_a_time(tiny_bundle: Bundle) -> None:
    settings = RuntimeSettings(device="cpu", intra_op_threads=1)
    big = build_engines(tiny_bundle, settings, big_model=True)
    small = build_engines(tiny_bundle, settings)
    assert big.video.max_items_per_run == BIG_MODEL_CLIPS_PER_RUN
    assert small.video.max_items_per_run == 0
    clips = _clips(big.video, 3)
    for a, b in zip(big.video.run_batch(clips), small.video.run_batch(clips), strict=True):
        np.testing.assert_allclose(a, b, atol=1e-5)
