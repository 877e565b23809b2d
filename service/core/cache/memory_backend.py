"""In-process LRU cache bounded by bytes (keys + values), with optional per-entry TTL."""

from __future__ import annotations

import time
from collections import OrderedDict


class MemoryLruBackend:
    name = "memory"

    def __init__(self, max_bytes: int) -> None:
        if max_bytes < 0:
            raise ValueError("max_bytes must be >= 0")
        self.max_bytes = max_bytes
        self._entries: OrderedDict[str, tuple[bytes, float | None]] = OrderedDict()
        self._bytes = 0

    @property
    def size_bytes(self) -> int:
        return self._bytes

    def __len__(self) -> int:
        return len(self._entries)

    async def get(self, key: str) -> bytes | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        value, expires_at = entry
        if expires_at is not None and time.monotonic() >= expires_at:
            self._remove(key)
            return None
        self._entries.move_to_end(key)
        return value

    async def set(self, key: str, value: bytes, ttl_s: float | None) -> None:
        size = len(key) + len(value)
        if key in self._entries:
            self._remove(key)
        if size > self.max_bytes:
            return  # would evict everything else and still not fit
        expires_at = None if ttl_s is None else time.monotonic() + ttl_s
        self._entries[key] = (value, expires_at)
        self._bytes += size
        while self._bytes > self.max_bytes:
            oldest = next(iter(self._entries))
            self._remove(oldest)

    def _remove(self, key: str) -> None:
        value, _ = self._entries.pop(key)
        self._bytes -= len(key) + len(value)

    async def close(self) -> None:
        self._entries.clear()
        self._bytes = 0
