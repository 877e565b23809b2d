"""Synchronous decoding API: probe, plan, decode. The service wraps it in threads; data loaders call it."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from service.media.ffmpeg_binary import find_ffmpeg
from service.media.frame_decoder import decode_command, decode_frames
from service.media.models import Frames, MediaInfo, Segment
from service.media.probe import probe_media
from service.media.sampling import WindowPlan, plan_clip, plan_segments
from service.media.settings import MediaSettings, SamplingSpec
from service.media.strategy import choose_strategy


def _decode_plans(
    path: Path,
    info: MediaInfo,
    plans: list[WindowPlan],
    spec: SamplingSpec,
    settings: MediaSettings,
    strategy: str | None,
) -> list[Frames]:
    """Decode the union of all windows' frames once, then gather each window's [T, S, S, 3]."""
    wanted = np.unique(np.concatenate([p.indices for p in plans]))
    unique = [int(i) for i in wanted]
    plan = choose_strategy(info, unique, strategy)
    command = decode_command(
        find_ffmpeg(settings), path, info, unique, spec.image_size, spec.resize_mode, plan, settings
    )
    frames = decode_frames(command, len(unique), spec.image_size, settings)
    return [frames[np.searchsorted(wanted, p.indices)] for p in plans]


def decode_clip_sync(
    path: Path,
    spec: SamplingSpec,
    settings: MediaSettings | None = None,
    *,
    info: MediaInfo | None = None,
    strategy: str | None = None,
) -> Frames:
    """uint8 [T, S, S, 3] RGB frames of the local file `path`, sampled as `spec` says.

    Blocking (runs ffmpeg subprocesses). Pass `info` from `probe_sync` to skip a second probe;
    `strategy` ("one_pass" | "seek") overrides the cost model, for benchmarks.
    Raises the media ServiceErrors (unsupported_media, no_video_stream, decode_failed, ...).
    """
    settings = settings or MediaSettings()
    info = info or probe_sync(path, settings)
    return _decode_plans(path, info, [plan_clip(info, spec)], spec, settings, strategy)[0]


def decode_segments_sync(
    path: Path,
    spec: SamplingSpec,
    settings: MediaSettings | None = None,
    *,
    info: MediaInfo | None = None,
) -> list[Segment]:
    """Consecutive `spec.segment_s`-second segments, each with uint8 [T, S, S, 3] frames. Blocking."""
    settings = settings or MediaSettings()
    info = info or probe_sync(path, settings)
    plans = plan_segments(info, spec, settings)
    clips = _decode_plans(path, info, plans, spec, settings, None)
    return [Segment(p.start_s, p.end_s, c) for p, c in zip(plans, clips, strict=True)]


def probe_sync(path: Path, settings: MediaSettings | None = None) -> MediaInfo:
    """Demux `path` and check the caps; see `probe.probe_media`. Blocking."""
    settings = settings or MediaSettings()
    return probe_media(path, settings, find_ffmpeg(settings))
