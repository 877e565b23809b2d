"""How asyncio learns that a decoder exited: a pidfd in the event loop where the kernel has them.

Python 3.11's default child watcher starts one thread per child process to block in waitpid, and the event
loop waits for that thread to start: about 2.5 ms of stalled loop per ffmpeg run on a loaded 2-core machine
(cProfile of the URL path, issue 24). A pidfd makes the exit an ordinary readable file descriptor in the loop's
epoll. Python 3.12 picks pidfds by itself (and deprecates setting a watcher), so this only acts on 3.11.
"""

from __future__ import annotations

import asyncio
import os
import sys
import warnings


def pidfd_usable() -> bool:
    """Whether this kernel and Python give pidfds (Linux 5.3+, Python built with `os.pidfd_open`)."""
    if not hasattr(os, "pidfd_open"):
        return False
    try:
        os.close(os.pidfd_open(os.getpid()))
    except OSError:
        return False
    return True


def use_pidfd_child_watcher() -> bool:
    """On Python 3.11 with pidfds, make the pidfd watcher the one `asyncio.run` attaches to its loop; call it
    before the loop starts. Returns whether it did."""
    if sys.version_info >= (3, 12) or not pidfd_usable():
        return False
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        asyncio.set_child_watcher(asyncio.PidfdChildWatcher())
    return True
