"""The server learns of ffmpeg exits through pidfds in its event loop, not through a waitpid thread per child."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from service.child_watcher import pidfd_usable

SCRIPT = textwrap.dedent(
    """
    import asyncio, sys, threading
    from service.child_watcher import use_pidfd_child_watcher

    if sys.argv[1] == "pidfd":
        assert use_pidfd_child_watcher()

    async def main():
        threads = []
        for _ in range(3):
            proc = await asyncio.create_subprocess_exec("sleep", "0.2")
            threads.append(threading.active_count())  # while the child runs
            assert await proc.wait() == 0
        print(max(threads))

    asyncio.run(main())
    """
)


def _threads_while_a_child_runs(mode: str) -> int:
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT, mode], capture_output=True, text=True, check=True, timeout=60
    )
    return int(out.stdout)


@pytest.mark.skipif(
    sys.version_info >= (3, 12) or not pidfd_usable(), reason="Python 3.12+ uses pidfds by itself"
)
def test_children_are_watched_without_a_thread_each() -> None:
    assert _threads_while_a_child_runs("default") == 2  # 3.11's default: a waitpid thread per child
    assert _threads_while_a_child_runs("pidfd") == 1
