"""Request bodies every server under test receives, identical byte for byte across servers."""

from __future__ import annotations

import base64
import json

import numpy as np

_WORDS = ("dog", "cat", "chef", "robot", "bird", "kid", "park", "kitchen", "beach", "car", "ball", "rain")


def text_for(index: int) -> str:
    """A distinct sentence per index, so no server can answer from a cache."""
    words = [_WORDS[(index // len(_WORDS) ** k) % len(_WORDS)] for k in range(4)]
    return f"a {words[0]} and a {words[1]} near the {words[2]} with a {words[3]} #{index}"


def text_body(index: int) -> bytes:
    return json.dumps({"texts": [text_for(index)]}).encode()


def frames_for(index: int, num_frames: int = 8, size: int = 64) -> bytes:
    """Pre-decoded clip: raw uint8 RGB frames [T, S, S, 3] in C order, distinct per index."""
    rng = np.random.default_rng(index)
    return rng.integers(0, 256, size=(num_frames, size, size, 3), dtype=np.uint8).tobytes()


def frames_body(index: int, num_frames: int = 8, size: int = 64) -> bytes:
    """`POST /v1/embed/video` body with one pre-decoded clip (base64 of the raw uint8 [T, S, S, 3] bytes),
    so decoding is out of the comparison. The service needs the `frames` source for this (see report)."""
    frames = {"data": base64.b64encode(frames_for(index, num_frames, size)).decode(),
              "shape": [num_frames, size, size, 3], "dtype": "uint8"}  # fmt: skip
    return json.dumps({"videos": [{"frames": frames}]}).encode()


def video_body(video_bytes: bytes) -> bytes:
    """`POST /v1/embed/video` body carrying an encoded file inline."""
    return json.dumps({"videos": [{"data": base64.b64encode(video_bytes).decode()}]}).encode()
