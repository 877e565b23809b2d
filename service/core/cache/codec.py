"""The cached value: a small header (magic, dtype, dim, rows, bundle hash) + segment spans + vectors.

Decoding checks everything against what the running bundle expects; anything off (truncated value,
other bundle, other dim, NaN) raises `RecordRejected`, which the cache treats as a miss and overwrites.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

_MAGIC = b"VPE1"
_DTYPE_FLOAT32 = 1
_HEADER = struct.Struct("<4sBII16s")  # magic, dtype, dim, rows, bundle id (16 ascii hex chars)


class RecordRejected(ValueError):
    pass


@dataclass(frozen=True, eq=False)
class EmbeddingRecord:
    """`vectors` float32 [N, D]; `spans` float64 [N, 2] (segment start/end seconds; zeros for texts)."""

    vectors: npt.NDArray[np.float32]
    spans: npt.NDArray[np.float64]

    def encode(self, bundle_id: str) -> bytes:
        rows, dim = self.vectors.shape
        header = _HEADER.pack(
            _MAGIC, _DTYPE_FLOAT32, dim, rows, bundle_id.encode("ascii")[:16].ljust(16, b"\0")
        )
        spans = np.ascontiguousarray(self.spans, dtype="<f8").tobytes()
        return header + spans + np.ascontiguousarray(self.vectors, dtype="<f4").tobytes()

    @classmethod
    def decode(cls, value: bytes, *, bundle_id: str, dim: int) -> EmbeddingRecord:
        if len(value) < _HEADER.size:
            raise RecordRejected("shorter than the header")
        magic, dtype, got_dim, rows, got_bundle = _HEADER.unpack_from(value)
        if magic != _MAGIC or dtype != _DTYPE_FLOAT32:
            raise RecordRejected("unknown magic or dtype")
        if got_dim != dim or got_bundle.rstrip(b"\0").decode("ascii", "replace") != bundle_id[:16]:
            raise RecordRejected("written by another bundle")
        expected = _HEADER.size + rows * 2 * 8 + rows * dim * 4
        if rows < 1 or len(value) != expected:
            raise RecordRejected(f"length {len(value)} != {expected}")
        spans = np.frombuffer(value, dtype="<f8", count=rows * 2, offset=_HEADER.size).reshape(rows, 2)
        vectors = np.frombuffer(value, dtype="<f4", offset=_HEADER.size + rows * 16).reshape(rows, dim)
        if not (np.isfinite(vectors).all() and np.isfinite(spans).all()):
            raise RecordRejected("non-finite values")
        return cls(vectors=vectors.astype(np.float32), spans=spans.astype(np.float64))
