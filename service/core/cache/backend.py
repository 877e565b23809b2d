"""The byte-level cache interface both backends implement. Backends never raise on lookup failures:
a cache is an optimization, so errors are counted and reported as misses (fail open)."""

from __future__ import annotations

from typing import Protocol


class CacheBackend(Protocol):
    name: str

    async def get(self, key: str) -> bytes | None: ...

    async def set(self, key: str, value: bytes, ttl_s: float | None) -> None: ...

    async def close(self) -> None: ...
