"""Streaming decode: one ffmpeg process whose stdout is read frame by frame, yielding one window at a time.

Memory stays bounded by a window's frames plus the pipe buffers: the generator is suspended at each
`yield` until the consumer asks for the next window, and while it waits ffmpeg blocks on the full pipe
(backpressure without a queue). Closing the generator (`aclose()`, `break` inside `async with aclosing`)
or cancelling the task that iterates it kills the ffmpeg process group and removes the filter script.

Time limits are progress-based: no frame for `decode_stall_timeout_s` means the decoder is stuck; the
caller's `deadline` (time.monotonic) bounds the whole run.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import subprocess
import time
from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from service.errors import DeadlineExceededError, DecodeFailedError
from service.media.ffmpeg_binary import find_ffmpeg
from service.media.frame_decoder import decode_command
from service.media.models import Frames, MediaInfo, Segment
from service.media.process_groups import ChildTracker, kill_group
from service.media.process_runner import ProcessLimits, sandboxed_argv
from service.media.sampling import WindowPlan
from service.media.settings import MediaSettings, SamplingSpec
from service.media.strategy import choose_strategy

_STDERR_KEEP = 4096


@dataclass(frozen=True)
class StreamJob:
    """Everything one streaming decode needs; built by the ingestor."""

    path: Path
    info: MediaInfo
    plans: list[WindowPlan]
    spec: SamplingSpec
    settings: MediaSettings
    scratch_dir: Path
    tracker: ChildTracker
    deadline: float | None = None  # time.monotonic() value; None: only the stall timeout applies
    # Called once the decoder has been told to stop (all frames read, or stopped early) and before it is reaped:
    # the next decode need not wait for a killed process to exit (median 4.3 ms per clip with 4 clients on 2
    # cores, a lane standing idle for 2-3 % of the time).
    release_permit: Callable[[], None] | None = None


def _limits(job: StreamJob, frames: int, frame_bytes: int) -> ProcessLimits:
    # RLIMIT_CPU is a total over the run: a long video legitimately needs CPU in proportion to its length.
    cpu_s = job.settings.cpu_limit_s + math.ceil(job.info.duration_s)
    return ProcessLimits(
        timeout_s=job.settings.decode_stall_timeout_s,
        memory_bytes=job.settings.memory_limit_bytes,
        cpu_s=cpu_s,
        max_stdout_bytes=frames * frame_bytes,
    )


_EXIT_WAIT_S = 1.0


async def _keep_tail(stream: asyncio.StreamReader, tail: bytearray) -> None:
    while chunk := await stream.read(65536):
        tail += chunk
        del tail[:-_STDERR_KEEP]


async def raw_frames(job: StreamJob, wanted: list[int]) -> AsyncGenerator[Frames, None]:
    """Each decoded frame of `wanted` in order, as uint8 [S, S, 3]; fewer if the file ends early."""
    size = job.spec.image_size
    frame_bytes = size * size * 3
    plan = choose_strategy(job.info, wanted)
    command = decode_command(
        find_ffmpeg(job.settings), job.path, job.info, wanted, size, job.spec.resize_mode, plan,
        job.settings, job.scratch_dir,
    )  # fmt: skip
    limits = _limits(job, len(wanted), frame_bytes)
    try:
        proc = await asyncio.create_subprocess_exec(
            *sandboxed_argv(command.argv, limits),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
            # Small buffers keep the run-ahead under a segment or two: backpressure reaches ffmpeg early.
            limit=max(2 * frame_bytes, 1 << 16),
        )
    except BaseException:
        command.remove_script()
        raise
    job.tracker.add(proc.pid)
    assert proc.stdout is not None and proc.stderr is not None
    tail = bytearray()
    stderr_task = asyncio.create_task(_keep_tail(proc.stderr, tail))
    try:
        for _ in wanted:
            timeout = job.settings.decode_stall_timeout_s
            if job.deadline is not None:
                timeout = min(timeout, job.deadline - time.monotonic())
                if timeout <= 0:
                    raise DeadlineExceededError("the decode ran past the request deadline")
            try:
                # A timeout scope, not wait_for: no extra task per frame on the event loop.
                async with asyncio.timeout(timeout):
                    chunk = await proc.stdout.readexactly(frame_bytes)
            except asyncio.IncompleteReadError:
                # The stream ended early (a truncated file, or the decoder died): let the exit status arrive
                # so the crash check below sees a signal death even when stdout closed first.
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(_EXIT_WAIT_S):
                        await proc.wait()
                return  # the caller pads
            except TimeoutError as exc:
                raise DeadlineExceededError(
                    f"the decoder made no progress for {timeout:.1f} s"
                    if timeout == job.settings.decode_stall_timeout_s
                    else "the decode ran past the request deadline"
                ) from exc
            yield np.frombuffer(chunk, dtype=np.uint8).reshape(size, size, 3)
    finally:
        if proc.returncode is not None and proc.returncode < 0:
            job.tracker.crashed(-proc.returncode)  # it died of a signal before we killed it
        kill_group(proc.pid)
        if job.release_permit is not None:
            job.release_permit()
        # Reaping is quick after SIGKILL; shield it so a second cancel cannot leave a zombie behind.
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.shield(_reap(proc, stderr_task))
        job.tracker.discard(proc.pid)
        command.remove_script()


async def _reap(proc: asyncio.subprocess.Process, stderr_task: asyncio.Task[None]) -> None:
    """Wait for the killed process and read its pipes to the end, so the transport closes itself."""
    assert proc.stdout is not None
    with contextlib.suppress(ConnectionError):
        while await proc.stdout.read(1 << 16):
            pass
    with contextlib.suppress(ConnectionError):
        await stderr_task
    await proc.wait()


def wanted_frames(job: StreamJob) -> list[int]:
    """The sorted distinct frame indices that `job`'s plans sample."""
    return sorted({int(i) for p in job.plans for i in p.indices})


async def stream_windows(
    job: StreamJob, source: AsyncGenerator[Frames, None] | None = None
) -> AsyncGenerator[Segment, None]:
    """Each plan's frames as a Segment, in order, as soon as its last frame is decoded.

    `source` yields the frames of `wanted_frames(job)` in order (None: one ffmpeg, `raw_frames`). A file
    that ends early repeats its last decoded frame (like `decode_frames`); no frame at all raises
    DecodeFailedError.
    """
    wanted = wanted_frames(job)
    buffered: dict[int, Frames] = {}
    last: Frames | None = None
    pos = 0
    exhausted = False
    async with contextlib.aclosing(raw_frames(job, wanted) if source is None else source) as frames:
        for k, plan in enumerate(job.plans):
            need = int(plan.indices.max())
            while not exhausted and pos < len(wanted) and wanted[pos] <= need:
                try:
                    last = await anext(frames)
                except StopAsyncIteration:
                    exhausted = True
                    break
                buffered[wanted[pos]] = last
                pos += 1
            if last is None:
                raise DecodeFailedError("no frame could be decoded")
            fallback = last
            clip = np.stack([buffered.get(int(i), fallback) for i in plan.indices])
            if k + 1 < len(job.plans):
                keep_from = int(job.plans[k + 1].indices.min())
                for index in [i for i in buffered if i < keep_from]:
                    del buffered[index]
            yield Segment(plan.start_s, plan.end_s, clip)
