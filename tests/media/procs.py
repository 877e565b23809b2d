"""What is left behind: live ffmpeg children of this process, and spool files, read from /proc and disk."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path


def ffmpeg_children(*, zombies: bool = False) -> list[int]:
    """Pids of this process's children whose name or command line says ffmpeg; `zombies` counts those
    that exited and are not reaped yet too (a check that every child was waited for)."""
    me = str(os.getpid())
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        # A child can exit between the listing and either read; it is then no longer live.
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
            command = Path(f"/proc/{pid}/cmdline").read_text(errors="ignore")
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        # State Z: exited, only waiting to be reaped; it holds no resources, so only `zombies` counts it.
        if fields[1] == me and (zombies or fields[0] != "Z") and "ffmpeg" in stat.split("(", 1)[1] + command:
            found.append(int(pid))
    return found


_PF_EXITING = 0x4  # /proc/<pid>/stat flags: the task is exiting
_SIGKILL_BIT = 1 << 8  # signal 9 in the pending-signal masks of /proc/<pid>/status


def working_ffmpeg_children() -> list[int]:
    """`ffmpeg_children()` without those already killed: no pending SIGKILL, not exiting, not a zombie."""
    working = []
    for pid in ffmpeg_children():
        try:
            flags = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[6])
            status = Path(f"/proc/{pid}/status").read_text().splitlines()
        except OSError:
            continue
        pending = [int(line.split()[1], 16) for line in status if line.startswith(("SigPnd:", "ShdPnd:"))]
        if not flags & _PF_EXITING and not any(mask & _SIGKILL_BIT for mask in pending):
            working.append(pid)
    return working


def decoder_threads(pid: int) -> str:
    """The `-threads` value on a running ffmpeg's command line."""
    args = Path(f"/proc/{pid}/cmdline").read_text(errors="ignore").split("\0")
    return args[args.index("-threads") + 1]


def alive(pid: int) -> bool:
    """Whether `pid` still runs: a zombie (state Z, exited and waiting to be reaped) does not count."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def bytes_written(pid: int) -> int:
    """Bytes the process has written so far (stdout included), from /proc/<pid>/io."""
    for line in Path(f"/proc/{pid}/io").read_text().splitlines():
        if line.startswith("wchar:"):
            return int(line.split()[1])
    raise AssertionError("no wchar in /proc/<pid>/io")


async def settle(check: object, within_s: float = 1.0) -> float:
    """Seconds until `check()` is true; fails if it is still false after `within_s`."""
    assert callable(check)
    start = time.monotonic()
    while not check():
        if time.monotonic() - start > within_s:
            raise AssertionError(f"still not true after {within_s} s")
        await asyncio.sleep(0.01)
    return time.monotonic() - start
