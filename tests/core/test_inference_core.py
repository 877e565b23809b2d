from __future__ import annotations

import asyncio
import dataclasses

import numpy as np
import onnxruntime as ort
import pytest
from prometheus_client import generate_latest

from service.core import (
    BatcherSettings,
    CoreSettings,
    Deadline,
    DecodedFrames,
    InferenceCore,
    PrometheusMetrics,
    VideoOptions,
    VideoUrl,
)
from service.core.engine_factory import Engines
from service.core.metrics import NullMetrics
from service.errors import DeadlineExceededError, DrainingError, InvalidRequestError, NotReadyError
from service.text import TextTokenizer
from tests.core.core_factory import FAST_SETTINGS, started_core
from tests.core.instrumented_engines import RecordingTextEngine, RecordingVideoEngine
from videoprism_bundle.loader import Bundle
from videoprism_bundle.tensor_names import EMBEDDINGS, INPUT_IDS, PADDINGS, VIDEO_INPUT


def _clip(bundle: Bundle, seed: int) -> np.ndarray:
    spec = bundle.manifest.video
    return np.random.default_rng(seed).integers(
        0, 256, (spec.num_frames, spec.image_size, spec.image_size, 3), dtype=np.uint8
    )


def _bare_video(bundle: Bundle, clips: np.ndarray) -> np.ndarray:
    session = ort.InferenceSession(str(bundle.video_encoder), providers=["CPUExecutionProvider"])
    return np.asarray(session.run([EMBEDDINGS], {VIDEO_INPUT: clips.astype(np.float32) / 255.0})[0])


async def test_not_ready_until_started_then_model_info(tiny_bundle: Bundle) -> None:
    metrics = PrometheusMetrics()
    core = InferenceCore.create(FAST_SETTINGS, tiny_bundle, metrics=metrics)
    assert not core.ready
    with pytest.raises(NotReadyError):
        await core.embed_texts(["a dog"])
    await core.start()
    assert core.ready
    info = core.model_info()
    assert info.bundle_id == tiny_bundle.bundle_id and info.embedding_dim == 16
    assert info.video.runtime == "onnxruntime" and info.video.provider == "CPUExecutionProvider"
    assert info.video.reason == "CPU forced by settings"
    # The smallest and largest batch only: start-up must not scale with max batch x model cost.
    assert info.video.warmed_batch_sizes == (1, 4)
    assert info.text is not None and info.text.warmed_batch_sizes == (1, 8)
    exposition = generate_latest(metrics.registry).decode()
    assert 'videoprism_model_info{bundle_id="' + tiny_bundle.bundle_id in exposition
    await core.drain(1)


async def test_auto_runtime_explains_why_it_runs_on_cpu(tiny_bundle: Bundle) -> None:
    settings = CoreSettings(runtime=FAST_SETTINGS.runtime.__class__(device="auto"))
    core = await started_core(tiny_bundle, settings=settings)
    reason = core.model_info().video.reason
    assert "TensorRT engine: none in the bundle for video_encoder" in reason
    assert "CUDAExecutionProvider" in reason
    await core.drain(1)


async def test_text_embeddings_match_a_bare_session(tiny_bundle: Bundle) -> None:
    core = await started_core(tiny_bundle)
    texts = ["Hello, World!", "hello world", "A chef cooks in a kitchen", ""]
    results = await core.embed_texts(texts)
    assert [r.normalized for r in results] == [
        "hello world.",
        "hello world.",
        "a chef cooks in a kitchen.",
        ".",
    ]
    assert tiny_bundle.tokenizer is not None
    batch = TextTokenizer(tiny_bundle.tokenizer, max_length=16).encode_batch(texts)
    session = ort.InferenceSession(str(tiny_bundle.text_encoder), providers=["CPUExecutionProvider"])
    expected = session.run([EMBEDDINGS], {INPUT_IDS: batch.ids, PADDINGS: batch.paddings})[0]
    got = np.stack([r.embedding for r in results if r.embedding is not None])
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
    assert [r.num_tokens for r in results] == batch.lengths
    await core.drain(1)


async def test_decoded_clip_and_segments(tiny_bundle: Bundle) -> None:
    core = await started_core(tiny_bundle)
    clips = np.stack([_clip(tiny_bundle, s) for s in range(3)])
    expected = _bare_video(tiny_bundle, clips)
    single = await core.embed_video(DecodedFrames(clips[0]))
    assert single.error is None and single.embedding is not None
    np.testing.assert_allclose(single.embedding, expected[0], rtol=1e-5, atol=1e-6)
    spans = ((0.0, 2.0), (2.0, 4.0), (4.0, 5.5))
    segmented = await core.embed_video(
        DecodedFrames(clips, spans=spans), VideoOptions(segment_interval_s=2.0)
    )
    assert segmented.embedding is not None
    assert [(s.start_s, s.end_s) for s in segmented.segments] == list(spans)
    mean = expected.mean(axis=0)
    np.testing.assert_allclose(segmented.embedding, mean / np.linalg.norm(mean), rtol=1e-5, atol=1e-6)
    assert abs(float(np.linalg.norm(segmented.embedding)) - 1.0) < 1e-5
    await core.drain(1)


async def test_item_errors_come_back_in_the_result(tiny_bundle: Bundle) -> None:
    core = await started_core(tiny_bundle)
    wrong_shape = await core.embed_video(DecodedFrames(np.zeros((2, 8, 8, 3), dtype=np.uint8)))
    assert isinstance(wrong_shape.error, InvalidRequestError) and wrong_shape.embedding is None
    no_media = await core.embed_video(VideoUrl("http://x/y.mp4"))
    assert isinstance(no_media.error, InvalidRequestError)
    expired = await core.embed_texts(["late"], deadline=Deadline.after(-1))
    assert isinstance(expired[0].error, DeadlineExceededError)
    with pytest.raises(InvalidRequestError):
        await core.embed_texts([])
    with pytest.raises(InvalidRequestError):
        await core.embed_texts(["x" * 5000])
    await core.drain(1)


async def _recording_core(
    bundle: Bundle,
    video: RecordingVideoEngine,
    text: RecordingTextEngine,
    settings: CoreSettings = FAST_SETTINGS,
) -> InferenceCore:
    core = InferenceCore(
        settings,
        bundle,
        media=None,
        cache=None,
        metrics=NullMetrics(),
        engines=Engines(video=video, text=text),
        environment=None,
    )
    await core.start()
    return core


async def test_thousand_identical_concurrent_requests_compute_once(tiny_bundle: Bundle) -> None:
    text_engine = RecordingTextEngine(tiny_bundle)
    core = await _recording_core(tiny_bundle, RecordingVideoEngine(tiny_bundle), text_engine)
    warmup_batches = len(text_engine.batches)
    results = await asyncio.gather(*(core.embed_texts(["The same caption!"]) for _ in range(1000)))
    assert all(r[0].error is None for r in results)
    assert text_engine.batches[warmup_batches:] == [[results[0][0].num_tokens]]
    await core.drain(1)


async def test_drain_finishes_in_flight_work_and_refuses_new_work(tiny_bundle: Bundle) -> None:
    core = await started_core(tiny_bundle)
    in_flight = asyncio.ensure_future(core.embed_video(DecodedFrames(_clip(tiny_bundle, 9))))
    await asyncio.sleep(0)
    assert await core.drain(5.0)
    result = await in_flight
    assert result.error is None and result.embedding is not None
    assert core.draining and not core.ready
    with pytest.raises(DrainingError):
        await core.embed_texts(["too late"])


async def test_dummy_engines_need_no_onnx(tiny_bundle: Bundle) -> None:
    core = await started_core(tiny_bundle, dummy=True)
    assert core.model_info().video.runtime == "dummy"
    a, b = await core.embed_texts(["a dog runs", "the cat jumps"])
    assert a.embedding is not None and b.embedding is not None
    assert abs(float(np.linalg.norm(a.embedding)) - 1.0) < 1e-5 and not np.allclose(a.embedding, b.embedding)
    video = await core.embed_video(DecodedFrames(_clip(tiny_bundle, 1)))
    assert video.embedding is not None and video.embedding.shape == (16,)
    await core.drain(1)


async def test_metrics_are_reported_through_the_hooks(tiny_bundle: Bundle) -> None:
    metrics = PrometheusMetrics()
    core = await started_core(tiny_bundle, metrics=metrics)
    await asyncio.gather(*(core.embed_texts([f"text {i}"], api="http") for i in range(5)))
    await core.embed_texts(["late"], deadline=Deadline.after(-1), api="grpc")
    sample = metrics.registry.get_sample_value
    assert sample("videoprism_core_calls_total", {"api": "http", "method": "embed_texts", "code": "ok"}) == 5
    assert (
        sample(
            "videoprism_core_calls_total",
            {"api": "grpc", "method": "embed_texts", "code": "deadline_exceeded"},
        )
        == 1
    )
    assert sample("videoprism_batch_size_sum", {"kind": "text"}) == 5
    assert sample("videoprism_queue_wait_seconds_count", {"kind": "text"}) == 5
    assert (
        sample("videoprism_core_call_duration_seconds_count", {"api": "http", "method": "embed_texts"}) == 5
    )
    assert sample("videoprism_queue_depth", {"kind": "text"}) == 0
    await core.drain(1)


def test_a_backend_that_is_not_thread_safe_gets_one_worker(tiny_bundle: Bundle) -> None:
    from service.core.engine_factory import build_dummy_engines
    from service.core.running import _usable
    from service.core.settings import BatcherSettings

    engine = build_dummy_engines(tiny_bundle).video
    wanted = BatcherSettings(workers=2, max_batches_in_flight=3)
    assert _usable(wanted, engine).workers == 2  # numpy and onnxruntime: runs may overlap
    engine.backend.thread_safe = False  # as TensorRTBackend declares (one CUDA stream, shared buffers)
    assert _usable(wanted, engine) == BatcherSettings(workers=1, max_batches_in_flight=3)


def test_worker_settings_reach_the_batchers() -> None:
    from service.settings import Settings

    core = Settings(text_workers=2, video_workers=3).core_settings()
    assert (core.text_batcher.workers, core.text_batcher.max_batches_in_flight) == (2, 3)
    assert (core.video_batcher.workers, core.video_batcher.max_batches_in_flight) == (3, 4)


async def test_is_overloaded_reports_each_batcher(tiny_bundle: Bundle) -> None:
    video_engine = RecordingVideoEngine(tiny_bundle)
    settings = dataclasses.replace(
        FAST_SETTINGS,
        video_batcher=BatcherSettings(max_batch_size=1, max_queue_size=1, max_batches_in_flight=1),
    )
    core = await _recording_core(tiny_bundle, video_engine, RecordingTextEngine(tiny_bundle), settings)
    video_engine.started.clear()  # set by the warm-up
    video_engine.gate.clear()
    try:
        running = asyncio.ensure_future(core.embed_video(DecodedFrames(video_engine.clip(1))))
        await asyncio.to_thread(video_engine.started.wait, 5)
        assert not core.is_overloaded("video")
        queued = asyncio.ensure_future(core.embed_video(DecodedFrames(video_engine.clip(2))))
        await asyncio.sleep(0.05)
        assert core.is_overloaded("video") and not core.is_overloaded("text")
        video_engine.gate.set()
        assert all(r.error is None for r in await asyncio.gather(running, queued))
        assert not core.is_overloaded("video")
    finally:
        video_engine.gate.set()
        await core.drain(1)
