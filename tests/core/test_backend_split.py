"""A big model's two sessions: a run alone takes the wide one, overlapping runs the narrow one."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import numpy.typing as npt
import pytest

from service.core import RuntimeSettings
from service.core.backend_split import LoadSplitBackend
from service.core.backends import Feeds, OnnxRuntimeBackend
from service.core.engine_factory import build_engines
from service.core.runtime_selection import CPU_EP
from videoprism_bundle.loader import Bundle
from videoprism_bundle.tensor_names import VIDEO_INPUT


class GatedSession(OnnxRuntimeBackend):
    """A real session whose runs hold until `release` is set, so a test can make runs overlap."""

    def __init__(self, bundle: Bundle, threads: int) -> None:
        super().__init__(bundle.video_encoder, (CPU_EP,), intra_op_threads=threads)
        self.started = threading.Semaphore(0)
        self.release = threading.Event()
        self.release.set()

    def run(self, feeds: Feeds) -> npt.NDArray[np.float32]:
        self.started.release()
        assert self.release.wait(10), "test never released the run"
        return super().run(feeds)


def _feeds(bundle: Bundle, seed: int) -> Feeds:
    video = bundle.manifest.video
    shape = (1, video.num_frames, video.image_size, video.image_size, 3)
    return {VIDEO_INPUT: np.random.default_rng(seed).random(shape, dtype=np.float32)}


def test_a_run_alone_takes_the_wide_session_and_overlapping_runs_the_narrow_one(tiny_bundle: Bundle) -> None:
    wide, narrow = GatedSession(tiny_bundle, 2), GatedSession(tiny_bundle, 1)
    split = LoadSplitBackend(wide, narrow)
    feeds = _feeds(tiny_bundle, 0)
    expected = wide.run(feeds)
    assert wide.started.acquire(timeout=1)

    split.run(feeds)
    assert split.runs == {"wide": 1}
    assert wide.started.acquire(timeout=1)
    wide.release.clear()
    with ThreadPoolExecutor(3) as pool:
        first = pool.submit(split.run, feeds)
        assert wide.started.acquire(timeout=5)  # the first run holds the wide session
        second, third = pool.submit(split.run, feeds), pool.submit(split.run, feeds)
        for result in (second, third):
            np.testing.assert_allclose(result.result(timeout=10), expected, atol=1e-5)
        assert split.runs == {"wide": 1 + 1, "narrow": 2}
        wide.release.set()
        np.testing.assert_allclose(first.result(timeout=10), expected, atol=1e-5)
    # Nothing under way again: the next run has the machine to itself.
    split.run(feeds)
    assert split.runs == {"wide": 3, "narrow": 2}


def test_a_failing_run_does_not_leave_the_backend_thinking_it_is_busy(tiny_bundle: Bundle) -> None:
    split = LoadSplitBackend(GatedSession(tiny_bundle, 2), GatedSession(tiny_bundle, 1))
    with pytest.raises(Exception, match=VIDEO_INPUT):
        split.run({"not_frames": np.zeros(1, np.float32)})
    split.run(_feeds(tiny_bundle, 1))
    assert split.runs == {"wide": 2}


def test_build_engines_splits_only_the_video_encoder_on_the_cpu(tiny_bundle: Bundle) -> None:
    settings = RuntimeSettings(device="cpu", intra_op_threads=2, overlap_run_threads=1)
    engines = build_engines(tiny_bundle, settings, big_model=True)
    assert isinstance(engines.video.backend, LoadSplitBackend)
    assert "overlapping runs on a 1-thread session" in engines.video.reason
    assert engines.text is not None and not isinstance(engines.text.backend, LoadSplitBackend)
    plain = build_engines(tiny_bundle, RuntimeSettings(device="cpu", intra_op_threads=2), big_model=True)
    assert not isinstance(plain.video.backend, LoadSplitBackend)
    clips = [np.random.default_rng(s).integers(0, 256, engines.video.shape, np.uint8) for s in range(4)]
    with ThreadPoolExecutor(4) as pool:
        got = list(pool.map(lambda c: engines.video.run_batch([c])[0], clips))
    for a, c in zip(got, clips, strict=True):
        np.testing.assert_allclose(a, plain.video.run_batch([c])[0], atol=1e-5)
