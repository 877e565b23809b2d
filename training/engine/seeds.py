"""Deterministic per-step seeds, so every random draw of a step is a pure function of (run seed, step)."""

from __future__ import annotations

import hashlib


def step_seed(seed: int, step: int, salt: str) -> int:
    """A 63-bit seed for draw `salt` at `step`; hashing keeps draws of nearby steps/salts unrelated."""
    digest = hashlib.blake2b(f"{seed}:{step}:{salt}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") >> 1
