"""Builds a bundle's sessions with the parallelism its cost calls for, and says which settings that gave."""

from __future__ import annotations

import asyncio
import functools
import logging

from service.core.engine_factory import Engines, build_engines, predict_placement
from service.core.parallelism import ModelCost, Placement, needs_cost, resolve_parallelism, usable_cores
from service.core.runtime_selection import CPU_EP, RuntimeEnvironment
from service.core.settings import CoreSettings
from videoprism_bundle.loader import Bundle

log = logging.getLogger(__name__)


def resolved(settings: CoreSettings, placement: Placement, cost: ModelCost | None) -> CoreSettings:
    """The settings with workers and intra-op threads chosen for this placement and cost (logged)."""
    settings = resolve_parallelism(settings, placement, usable_cores(), cost)
    log.info(
        "workers: video %d, text %d; intra-op threads %s",
        settings.video_batcher.workers,
        settings.text_batcher.workers,
        settings.runtime.intra_op_threads or "onnxruntime's default",
    )
    return settings


def resolved_for_prebuilt(settings: CoreSettings, engines: Engines) -> CoreSettings:
    """Prebuilt engines (dummy, tests) carry no cost: the placement alone decides."""
    placement = Placement(
        video_on_cpu=engines.video.backend.provider == CPU_EP,
        text_on_cpu=engines.text is not None and engines.text.backend.provider == CPU_EP,
    )
    return resolved(settings, placement, None)


async def build_sized_engines(
    settings: CoreSettings, bundle: Bundle, environment: RuntimeEnvironment | None
) -> tuple[Engines, CoreSettings]:
    """Sessions built with the parallelism the model's cost calls for. Without FLOPs in the manifest the
    cost is one timed single-clip run on a session with every core (the right one for a big model, which
    is the expensive one to rebuild); a small model's session is then rebuilt single-threaded."""
    env = environment
    if env is None:
        env = await asyncio.to_thread(RuntimeEnvironment.detect, settings.runtime.device_id)
    placement = predict_placement(bundle, settings.runtime, env)
    cores = usable_cores()
    gflops = bundle.manifest.video_gflops_per_clip
    cost = ModelCost(gflops_per_clip=gflops) if gflops is not None else None
    if cost is not None or not needs_cost(settings, placement):
        sized = resolved(settings, placement, cost)
        big = cost is not None and cost.is_big()
        engines = await asyncio.to_thread(
            functools.partial(build_engines, big_model=big), bundle, sized.runtime, env
        )
        return engines, sized
    probe = resolve_parallelism(settings, placement, cores, ModelCost(gflops_per_clip=float("inf")))
    engines = await asyncio.to_thread(
        functools.partial(build_engines, big_model=True), bundle, probe.runtime, env
    )
    seconds = await asyncio.to_thread(engines.video.warmup, [1])
    cost = ModelCost(seconds_per_clip=seconds, threads=cores)
    sized = resolved(settings, placement, cost)
    log.info("video encoder: %.3fs per clip with %d threads (big: %s)", seconds, cores, cost.is_big())
    if not cost.is_big():
        engines = await asyncio.to_thread(build_engines, bundle, sized.runtime, env)
    return engines, sized
