"""Small numeric helpers shared by the pipelines."""

from __future__ import annotations

import numpy as np

from service.core.types import Vector


def normalized_mean(vectors: np.ndarray) -> Vector:
    """The whole-video embedding: the mean of its (unit) segment vectors, re-normalized to unit length."""
    mean = np.asarray(vectors, dtype=np.float32).mean(axis=0)
    norm = float(np.linalg.norm(mean))
    return (mean / max(norm, 1e-12)).astype(np.float32)
