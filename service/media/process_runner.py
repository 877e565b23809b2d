"""Run one ffmpeg process in isolation: own process group, rlimits, wall-clock limit, bounded output.

Resource limits are applied by a `/bin/sh` trampoline (`ulimit ...; exec ffmpeg ...`) instead of a
Python `preexec_fn`, which is unsafe in a threaded process (it runs Python between fork and exec).
`start_new_session` (setsid, done in C by the subprocess module) gives each run its own process group,
so a timeout kills ffmpeg and anything it spawned.
"""

from __future__ import annotations

import os
import selectors
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass

from service.errors import DeadlineExceededError
from service.media.process_groups import ChildTracker, kill_group

_CHUNK = 1 << 16
_STDERR_KEEP = 16 * 1024


class OutputOverflowError(Exception):
    """stdout exceeded `max_stdout_bytes`; the caller maps it to a user-facing code."""


@dataclass(frozen=True)
class ProcessLimits:
    """Per-process caps. `max_stdout_bytes` bounds what we buffer from the pipe."""

    timeout_s: float
    memory_bytes: int
    cpu_s: int
    max_stdout_bytes: int


@dataclass(frozen=True)
class ProcessResult:
    returncode: int
    stdout: bytes
    stderr: str  # last few KiB, for error messages


def sandboxed_argv(argv: Sequence[str], limits: ProcessLimits) -> list[str]:
    """`argv` behind a shell that sets the rlimits and then execs it (same pid, so its group is ours)."""
    kib = max(1, limits.memory_bytes // 1024)
    script = f'ulimit -v {kib} && ulimit -t {limits.cpu_s} && ulimit -c 0 && exec "$@"'
    return ["/bin/sh", "-c", script, "sh", *argv]


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    kill_group(proc.pid)
    proc.wait()


def run_limited(
    argv: Sequence[str], limits: ProcessLimits, tracker: ChildTracker | None = None
) -> ProcessResult:
    """Run `argv` under `limits`, returning its exit status, stdout and the tail of stderr.

    Raises DeadlineExceededError after `timeout_s` and OutputOverflowError when stdout exceeds its cap;
    in both cases the whole process group is killed first. Blocking: call it from a worker thread.
    `tracker` (the ingestor's) lets shutdown kill the run from another thread.
    """
    proc = subprocess.Popen(
        sandboxed_argv(argv, limits),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
        close_fds=True,
    )
    assert proc.stdout is not None and proc.stderr is not None
    if tracker is not None:
        tracker.add(proc.pid)
    out = bytearray()
    err = bytearray()
    deadline = time.monotonic() + limits.timeout_s
    try:
        with selectors.DefaultSelector() as sel:
            sel.register(proc.stdout, selectors.EVENT_READ, out)
            sel.register(proc.stderr, selectors.EVENT_READ, err)
            while sel.get_map():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    _kill_group(proc)
                    raise DeadlineExceededError(f"ffmpeg ran longer than {limits.timeout_s:.1f} s")
                for key, _ in sel.select(timeout=remaining):
                    chunk = os.read(key.fd, _CHUNK)
                    if not chunk:
                        sel.unregister(key.fileobj)
                        continue
                    buf: bytearray = key.data
                    buf += chunk
                    if buf is err and len(err) > 2 * _STDERR_KEEP:
                        del err[:-_STDERR_KEEP]
                    if buf is out and len(out) > limits.max_stdout_bytes:
                        _kill_group(proc)
                        raise OutputOverflowError(f"more than {limits.max_stdout_bytes} bytes on stdout")
        try:
            rc = proc.wait(timeout=max(0.0, deadline - time.monotonic()) + 0.5)
            if rc < 0 and tracker is not None:
                tracker.crashed(-rc)  # died of a signal it was not sent by us (we raise before killing)
        except subprocess.TimeoutExpired as exc:
            _kill_group(proc)
            raise DeadlineExceededError(f"ffmpeg ran longer than {limits.timeout_s:.1f} s") from exc
    finally:
        proc.stdout.close()
        proc.stderr.close()
        if proc.returncode is None:
            _kill_group(proc)
        if tracker is not None:
            tracker.discard(proc.pid)
    return ProcessResult(
        returncode=rc, stdout=bytes(out), stderr=err[-_STDERR_KEEP:].decode("utf-8", "replace")
    )
