"""Texts: normalize → cache → single-flight → tokenize → text batcher → cache."""

from __future__ import annotations

import numpy as np

from service.core.batcher import DynamicBatcher
from service.core.cache.codec import EmbeddingRecord
from service.core.cache.embedding_cache import EmbeddingCache
from service.core.cache.keys import text_cache_key
from service.core.engines import TokenRow
from service.core.single_flight import SingleFlight
from service.core.types import Deadline, TextEmbeddingResult
from service.errors import ServiceError
from service.text.tokenizer import TextTokenizer

_Outcome = tuple[EmbeddingRecord, bool]


class TextPipeline:
    def __init__(
        self,
        tokenizer: TextTokenizer,
        batcher: DynamicBatcher[TokenRow],
        cache: EmbeddingCache | None,
        flights: SingleFlight[str, _Outcome],
        *,
        bundle_id: str,
        model_version: str,
    ) -> None:
        self._tokenizer = tokenizer
        self._batcher = batcher
        self._cache = cache
        self._flights = flights
        self._bundle_id = bundle_id
        self._model_version = model_version

    @property
    def tokenizer(self) -> TextTokenizer:
        return self._tokenizer

    async def embed(self, text: str, deadline: Deadline) -> TextEmbeddingResult:
        normalized = self._tokenizer.normalize(text)
        row = TokenRow(self._tokenizer.encode_normalized(normalized))
        try:
            # One pipeline serves one bundle and tokenizer, so the normalized text alone identifies the
            # computation; the cache key (a hash over it and the bundle) is only built when there is a cache.
            record, cached = await self._flights.run(
                normalized, lambda: self._compute(normalized, row, deadline)
            )
        except ServiceError as error:
            return TextEmbeddingResult(
                normalized=normalized, embedding=None, num_tokens=row.num_tokens, error=error
            )
        return TextEmbeddingResult(
            normalized=normalized,
            embedding=record.vectors[0].copy(),
            num_tokens=row.num_tokens,
            cached=cached,
        )

    async def _compute(self, normalized: str, row: TokenRow, deadline: Deadline) -> _Outcome:
        dim = self._batcher.engine.embedding_dim
        if self._cache is not None:
            key = text_cache_key(
                self._cache.key_prefix,
                normalized,
                self._bundle_id,
                self._model_version,
                self._tokenizer.max_length,
            )
            hit = await self._cache.get_record(key, bundle_id=self._bundle_id, dim=dim)
            if hit is not None:
                return hit, True
        vector = await self._batcher.submit(row, deadline)
        record = EmbeddingRecord(vectors=vector[None, :], spans=np.zeros((1, 2), dtype=np.float64))
        if self._cache is not None:
            await self._cache.set_record(key, record, bundle_id=self._bundle_id)
        return record, False
