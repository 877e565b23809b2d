"""Auto workers / intra-op threads: one single-threaded run per core on the CPU, one run on a GPU."""

from __future__ import annotations

import dataclasses

from service.core import BatcherSettings, CoreSettings, InferenceCore, RuntimeSettings
from service.core.engine_factory import predict_placement
from service.core.parallelism import (
    MAX_AUTO_WORKERS,
    ModelCost,
    Placement,
    needs_cost,
    resolve_parallelism,
    usable_cores,
)
from service.core.runtime_selection import CPU_EP, CUDA_EP, RuntimeEnvironment
from service.settings import Settings
from videoprism_bundle.loader import Bundle

AUTO = CoreSettings(
    video_batcher=BatcherSettings(workers=0, max_batches_in_flight=0),
    text_batcher=BatcherSettings(max_batch_size=32, workers=0, max_batches_in_flight=0),
)
ON_CPU = Placement(video_on_cpu=True, text_on_cpu=True)


def test_auto_on_cpu_is_one_single_threaded_worker_per_core() -> None:
    resolved = resolve_parallelism(AUTO, ON_CPU, cores=2)
    assert resolved.runtime.intra_op_threads == 1
    for batcher in (resolved.video_batcher, resolved.text_batcher):
        assert (batcher.workers, batcher.max_batches_in_flight) == (2, 3)
    assert resolved.text_batcher.max_batch_size == 32  # everything else is kept


def test_auto_on_a_large_cpu_caps_the_runs_and_gives_each_more_threads() -> None:
    resolved = resolve_parallelism(AUTO, ON_CPU, cores=16)
    assert resolved.video_batcher.workers == resolved.text_batcher.workers == 4
    assert resolved.runtime.intra_op_threads == 4


def test_explicit_workers_with_auto_threads_do_not_oversubscribe() -> None:
    two = dataclasses.replace(
        AUTO,
        video_batcher=BatcherSettings(workers=2, max_batches_in_flight=3),
        text_batcher=BatcherSettings(workers=2, max_batches_in_flight=3),
    )
    assert resolve_parallelism(two, ON_CPU, cores=8).runtime.intra_op_threads == 4


def test_auto_on_gpu_is_one_worker_and_default_threads() -> None:
    resolved = resolve_parallelism(AUTO, Placement(video_on_cpu=False, text_on_cpu=False), cores=16)
    assert resolved.runtime.intra_op_threads == 0
    assert (resolved.video_batcher.workers, resolved.video_batcher.max_batches_in_flight) == (1, 2)
    assert resolved.text_batcher.workers == 1


def test_mixed_placement_resolves_each_encoder_on_its_own() -> None:
    resolved = resolve_parallelism(AUTO, Placement(video_on_cpu=False, text_on_cpu=True), cores=2)
    assert resolved.video_batcher.workers == 1
    assert resolved.text_batcher.workers == 2
    assert resolved.runtime.intra_op_threads == 1


def test_explicit_values_are_kept_and_auto_workers_share_explicit_threads() -> None:
    explicit = dataclasses.replace(
        AUTO,
        video_batcher=BatcherSettings(workers=3, max_batches_in_flight=3),
        runtime=RuntimeSettings(intra_op_threads=2),
    )
    resolved = resolve_parallelism(explicit, ON_CPU, cores=8)
    assert (resolved.video_batcher.workers, resolved.video_batcher.max_batches_in_flight) == (3, 3)
    assert resolved.runtime.intra_op_threads == 2
    assert resolved.text_batcher.workers == 4  # 8 cores / 2 threads per run
    assert resolve_parallelism(explicit, ON_CPU, cores=1).text_batcher.workers == 1


def test_nothing_auto_changes_nothing() -> None:
    fixed = CoreSettings()
    assert resolve_parallelism(fixed, ON_CPU, cores=8) == fixed


def test_server_defaults_are_auto() -> None:
    core = Settings().core_settings()
    assert core.video_batcher.workers == 0 and core.video_batcher.max_batches_in_flight == 0
    assert core.text_batcher.workers == 0 and core.runtime.intra_op_threads == 0
    pinned = Settings(text_workers=2).core_settings().text_batcher
    assert (pinned.workers, pinned.max_batches_in_flight) == (2, 3)


def test_placement_follows_the_runtime_selection(tiny_bundle: Bundle) -> None:
    cpu_only = RuntimeEnvironment(
        ort_providers=(CPU_EP,), tensorrt_version=None, cuda_python_available=False, cuda_device_count=0
    )
    gpu = dataclasses.replace(cpu_only, ort_providers=(CUDA_EP, CPU_EP), cuda_device_count=1)
    assert predict_placement(tiny_bundle, RuntimeSettings(), cpu_only) == ON_CPU
    assert predict_placement(tiny_bundle, RuntimeSettings(), gpu) == Placement(False, False)
    assert predict_placement(tiny_bundle, RuntimeSettings(device="cpu"), gpu) == ON_CPU


async def test_core_resolves_auto_before_building_sessions(tiny_bundle: Bundle) -> None:
    settings = dataclasses.replace(AUTO, runtime=RuntimeSettings(device="cpu"))
    core = InferenceCore.create(settings, tiny_bundle)
    await core.start()
    try:
        expected = resolve_parallelism(settings, ON_CPU, usable_cores())
        assert core.settings == expected
        assert core.settings.video_batcher.workers == min(MAX_AUTO_WORKERS, usable_cores())
        (result,) = await core.embed_texts(["a red square slides to the left"])
        assert result.error is None and result.embedding is not None
    finally:
        await core.drain(1)


BIG = ModelCost(gflops_per_clip=1100.0)  # `base`: 16 x 288 x 288


def test_a_big_model_gets_one_run_with_every_core() -> None:
    resolved = resolve_parallelism(AUTO, ON_CPU, cores=2, cost=BIG)
    assert resolved.runtime.intra_op_threads == 2
    assert (resolved.video_batcher.workers, resolved.video_batcher.max_batches_in_flight) == (1, 2)
    assert resolved.text_batcher.workers == 1  # shares the run's threads rather than oversubscribing
    assert resolved.video_batcher.max_batch_size == 1  # a batch would run one clip at a time anyway
    assert resolve_parallelism(AUTO, ON_CPU, cores=16, cost=BIG).runtime.intra_op_threads == 16


def test_a_small_model_keeps_one_single_threaded_run_per_core() -> None:
    small = ModelCost(gflops_per_clip=2.0)
    assert resolve_parallelism(AUTO, ON_CPU, cores=2, cost=small) == resolve_parallelism(AUTO, ON_CPU, 2)


def test_timed_cost_is_judged_in_core_seconds() -> None:
    assert ModelCost(seconds_per_clip=0.15, threads=2).is_big()  # 0.3 core-seconds
    assert not ModelCost(seconds_per_clip=0.15, threads=1).is_big()
    assert not ModelCost().is_big()
    # FLOPs from the manifest win over a timing taken on a loaded machine.
    assert not ModelCost(gflops_per_clip=1.0, seconds_per_clip=9.0, threads=2).is_big()


def test_settings_override_the_cost() -> None:
    pinned_workers = dataclasses.replace(
        AUTO, video_batcher=BatcherSettings(workers=2, max_batches_in_flight=0)
    )
    resolved = resolve_parallelism(pinned_workers, ON_CPU, cores=2, cost=BIG)
    assert resolved.video_batcher.workers == 2 and resolved.runtime.intra_op_threads == 1
    # One clip per batch, so both pinned workers take clips instead of one worker holding a batch of eight.
    assert resolved.video_batcher.max_batch_size == 1
    pinned_threads = dataclasses.replace(AUTO, runtime=RuntimeSettings(intra_op_threads=1))
    assert not needs_cost(pinned_threads, ON_CPU)
    assert resolve_parallelism(pinned_threads, ON_CPU, cores=2, cost=BIG).video_batcher.workers == 2


def test_on_a_gpu_the_cost_does_not_matter_one_run_per_gpu() -> None:
    gpu = Placement(video_on_cpu=False, text_on_cpu=False)
    assert not needs_cost(AUTO, gpu)
    for cost in (BIG, ModelCost(gflops_per_clip=1.0), None):
        resolved = resolve_parallelism(AUTO, gpu, cores=16, cost=cost)
        assert resolved.video_batcher.workers == resolved.text_batcher.workers == 1
        assert resolved.runtime.intra_op_threads == 0


async def test_manifest_flops_of_a_big_model_give_one_run_with_every_core(tiny_bundle: Bundle) -> None:
    big = dataclasses.replace(
        tiny_bundle, manifest=tiny_bundle.manifest.model_copy(update={"video_gflops_per_clip": 1100.0})
    )
    core = InferenceCore.create(dataclasses.replace(AUTO, runtime=RuntimeSettings(device="cpu")), big)
    await core.start()
    try:
        assert core.settings.video_batcher.workers == 1
        assert core.settings.runtime.intra_op_threads == usable_cores()
        (result,) = await core.embed_texts(["a red square slides to the left"])
        assert result.error is None and result.embedding is not None
    finally:
        await core.drain(1)
