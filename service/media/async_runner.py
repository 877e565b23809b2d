"""`run_limited` for the event loop: same sandbox, but cancelling the awaiting task kills the process group.

The thread-based runner cannot be interrupted from outside its thread, so a cancelled request would let
its ffmpeg run until the time limit. Here the process is an asyncio child: cancellation, the time limit
and the output cap all end in SIGKILL of the group and a reaped child before the coroutine returns.
"""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
from collections.abc import Sequence

from service.errors import DeadlineExceededError
from service.media.process_groups import ChildTracker, kill_group
from service.media.process_runner import OutputOverflowError, ProcessLimits, ProcessResult, sandboxed_argv

_STDERR_KEEP = 16 * 1024


async def _read_capped(stream: asyncio.StreamReader, cap: int, keep_tail: bool) -> bytes:
    buf = bytearray()
    while chunk := await stream.read(1 << 16):
        buf += chunk
        if keep_tail:
            del buf[:-_STDERR_KEEP]
        elif len(buf) > cap:
            raise OutputOverflowError(f"more than {cap} bytes on stdout")
    return bytes(buf)


async def run_limited_async(
    argv: Sequence[str], limits: ProcessLimits, tracker: ChildTracker
) -> ProcessResult:
    """Run `argv` under `limits`; raises DeadlineExceededError after `timeout_s`, OutputOverflowError."""
    proc = await asyncio.create_subprocess_exec(
        *sandboxed_argv(argv, limits),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    tracker.add(proc.pid)
    assert proc.stdout is not None and proc.stderr is not None
    out = asyncio.ensure_future(_read_capped(proc.stdout, limits.max_stdout_bytes, keep_tail=False))
    err = asyncio.ensure_future(_read_capped(proc.stderr, 0, keep_tail=True))
    try:
        async with asyncio.timeout(limits.timeout_s):
            stdout, stderr = await asyncio.gather(out, err)
            returncode = await proc.wait()
        if returncode < 0:
            tracker.crashed(-returncode)  # died of a signal it was not sent by us (we kill only on errors)
    except TimeoutError as exc:
        raise DeadlineExceededError(f"ffmpeg ran longer than {limits.timeout_s:.1f} s") from exc
    finally:
        if proc.returncode is None:
            kill_group(proc.pid)
            # Drain and reap under a shield: a second cancel must not leave a zombie or an open pipe.
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.shield(_reap(proc, out, err))
        tracker.discard(proc.pid)
    return ProcessResult(returncode=returncode, stdout=stdout, stderr=stderr.decode("utf-8", "replace"))


async def _reap(proc: asyncio.subprocess.Process, *readers: asyncio.Future[bytes]) -> None:
    for reader in readers:
        if not reader.done():
            reader.cancel()
    assert proc.stdout is not None and proc.stderr is not None
    for stream in (proc.stdout, proc.stderr):
        with contextlib.suppress(ConnectionError):
            while await stream.read(1 << 16):
                pass
    await proc.wait()
