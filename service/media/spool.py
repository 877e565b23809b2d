"""The ingestor's private spool directory, and the purge of those left behind by killed processes.

Each live directory `vp-media-XXXX` has a sibling `vp-media-XXXX.lock`, on which its process keeps an
exclusive `flock` for its lifetime (outside the directory, so the directory holds only media files).
The kernel drops the lock when the process dies however it dies (`kill -9` included), so a directory
whose lock can be taken is stale, and one whose lock is held belongs to a live process and is never
touched. Liveness by pid alone would be fooled by pid reuse, and across containers sharing a volume.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import tempfile
import time
from pathlib import Path

PREFIX = "vp-media-"
LOCK_SUFFIX = ".lock"
# A directory is created a moment before its lock file; without one it is only stale once this old.
LOCKLESS_GRACE_S = 600.0


def lock_path(directory: Path) -> Path:
    """The lock file that says `directory` is in use."""
    return directory.with_name(directory.name + LOCK_SUFFIX)


def _is_stale(directory: Path, now: float) -> bool:
    try:
        fd = os.open(lock_path(directory), os.O_RDWR | os.O_CLOEXEC | os.O_NOFOLLOW)
    except FileNotFoundError:
        with contextlib.suppress(FileNotFoundError):
            return now - directory.stat().st_mtime > LOCKLESS_GRACE_S
        return False
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False  # a live process holds it
    finally:
        os.close(fd)  # also drops the lock we may have just taken
    return True


def purge_stale(parent: Path) -> list[Path]:
    """Remove the spool directories under `parent` that no live process holds; returns what was removed."""
    removed = []
    now = time.time()
    for entry in parent.glob(f"{PREFIX}*"):
        if entry.is_symlink() or not entry.is_dir():
            continue
        if _is_stale(entry, now):
            shutil.rmtree(entry, ignore_errors=True)
            with contextlib.suppress(FileNotFoundError):
                lock_path(entry).unlink()
            removed.append(entry)
    return removed


class SpoolDir:
    """A fresh `vp-media-*` directory under `parent`, locked until `close()` (stale ones are purged first)."""

    def __init__(self, parent: Path | None) -> None:
        base = parent if parent is not None else Path(tempfile.gettempdir())
        purge_stale(base)
        self.path = Path(tempfile.mkdtemp(prefix=PREFIX, dir=base))
        self._lock = lock_path(self.path)
        self._fd: int | None = os.open(self._lock, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        fcntl.flock(self._fd, fcntl.LOCK_EX)
        os.write(self._fd, f"{os.getpid()}\n".encode())  # for operators; the lock is what counts

    def close(self) -> None:
        """Delete the directory and everything in it, then the lock file, then release the lock. Idempotent."""
        shutil.rmtree(self.path, ignore_errors=True)
        if self._fd is not None:
            with contextlib.suppress(FileNotFoundError):
                self._lock.unlink()
            os.close(self._fd)
            self._fd = None
