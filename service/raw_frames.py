"""Pre-decoded frames sent by a client (HTTP `frames` item, gRPC `RawFrames`) → the core's `DecodedFrames`.

Both doors validate here, against the served bundle, so a wrong shape fails the request with
`invalid_request` (400 / INVALID_ARGUMENT) instead of becoming a per-item error deep in the core.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from service.core.types import DecodedFrames, ModelInfo
from service.errors import InvalidRequestError


def decoded_frames(
    data: bytes, shape: Sequence[int], dtype: str, info: ModelInfo, *, where: str
) -> DecodedFrames:
    """`where` names the item in the error message (e.g. "videos[2].frames")."""
    expected = (info.num_frames, info.image_size, info.image_size, 3)
    if dtype != "uint8":
        raise InvalidRequestError(f"{where}.dtype must be 'uint8', got {dtype!r}")
    if tuple(shape) != expected:
        raise InvalidRequestError(
            f"{where}.shape must be {list(expected)} (num_frames, image_size, image_size, 3) for this model, "
            f"got {list(shape)}"
        )
    size = int(np.prod(expected))
    if len(data) != size:
        raise InvalidRequestError(
            f"{where}.data must be {size} bytes for shape {list(expected)}, got {len(data)}"
        )
    # A read-only view over the request's bytes: no copy, and the core never writes to its input.
    return DecodedFrames(np.frombuffer(data, dtype=np.uint8).reshape(expected))
