"""Typed cache on top of a byte backend: validated embedding records and the URL → content-hash map."""

from __future__ import annotations

import logging

from service.core.cache.backend import CacheBackend
from service.core.cache.codec import EmbeddingRecord, RecordRejected
from service.core.cache.keys import url_map_key
from service.core.metrics import CoreMetrics
from service.tracing import AttributeValue, span

log = logging.getLogger(__name__)


class EmbeddingCache:
    def __init__(
        self,
        backend: CacheBackend,
        metrics: CoreMetrics,
        *,
        ttl_s: float | None,
        url_map_ttl_s: float | None,
        key_prefix: str = "vp",
    ) -> None:
        self.backend = backend
        self.key_prefix = key_prefix
        self._metrics = metrics
        self._ttl_s = ttl_s
        self._url_map_ttl_s = url_map_ttl_s

    async def get_record(self, key: str, *, bundle_id: str, dim: int) -> EmbeddingRecord | None:
        with span("cache.lookup", **{"cache.backend": self.backend.name, "bundle.id": bundle_id}) as trace:
            record = await self._get_record(key, bundle_id=bundle_id, dim=dim)
            trace.set_attribute("cache.hit", record is not None)
        return record

    async def _get_record(self, key: str, *, bundle_id: str, dim: int) -> EmbeddingRecord | None:
        value = await self.backend.get(key)
        if value is not None:
            try:
                record = EmbeddingRecord.decode(value, bundle_id=bundle_id, dim=dim)
            except RecordRejected as exc:
                # Treated as a miss; the caller's fresh result overwrites the bad value.
                log.warning("cache value for %s rejected (%s)", key, exc)
            else:
                self._metrics.cache_lookup(self.backend.name, hit=True)
                return record
        self._metrics.cache_lookup(self.backend.name, hit=False)
        return None

    async def set_record(self, key: str, record: EmbeddingRecord, *, bundle_id: str) -> None:
        value = record.encode(bundle_id)
        attributes: dict[str, AttributeValue] = {
            "cache.backend": self.backend.name,
            "bundle.id": bundle_id,
            "cache.bytes": len(value),
        }
        with span("cache.store", **attributes):
            await self.backend.set(key, value, self._ttl_s)

    async def content_hash_for_url(self, url: str) -> str | None:
        if self._url_map_ttl_s is None:
            return None
        with span("cache.lookup", **{"cache.backend": self.backend.name, "cache.map": "url"}) as trace:
            value = await self.backend.get(url_map_key(self.key_prefix, url))
            trace.set_attribute("cache.hit", value is not None)
        if value is None or len(value) != 64:
            return None
        return value.decode("ascii", "replace")

    async def remember_url(self, url: str, content_sha256: str) -> None:
        if self._url_map_ttl_s is not None:
            await self.backend.set(
                url_map_key(self.key_prefix, url), content_sha256.encode("ascii"), self._url_map_ttl_s
            )

    async def close(self) -> None:
        await self.backend.close()
