"""Token masks and shuffles as pure functions of explicit random draws (argsort-of-noise style).

Every mask hides a fixed number of tokens per sample, so `ids_keep` has a static shape [B, K] however ragged
the mask is per frame: the student sees exactly K tokens and the decoders always get full-length sequences.
Tokens are indexed time-major, t * N + n, as the encoder emits them.

A mask is described by a per-token *score*: the K lowest scores are kept. Random masks use uniform noise as
the score; structured masks (tube, BEVT) give covered tokens high scores and add noise < 1 to break ties, so
one `masking_from_scores` turns any strategy into (ids_keep, ids_restore, mask).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch

MaskKind = Literal["random", "tube", "bevt"]


@dataclass(frozen=True)
class Masking:
    """ids_keep [B, K] (ascending), ids_restore [B, L], mask [B, L] (1 = hidden); L = T*N tokens."""

    ids_keep: torch.Tensor
    ids_restore: torch.Tensor
    mask: torch.Tensor


def num_masked(num_tokens: int, ratio: float) -> int:
    if not 0.0 <= ratio < 1.0:
        raise ValueError(f"mask ratio must lie in [0, 1), got {ratio}")
    return round(num_tokens * ratio)


def masking_from_scores(scores: torch.Tensor, num_keep: int) -> Masking:
    """scores [B, L] -> keep the `num_keep` lowest-scoring tokens of every sample.

    ids_shuffle lists the kept tokens first, then the hidden ones, each group in time-major order;
    ids_restore undoes that order, so gathering cat(kept, hidden) with it puts every token back in place.
    """
    ids_shuffle = torch.argsort(scores, dim=1, stable=True)
    # Sorting each group keeps sequences in time-major order, independent of the score values.
    ids_keep = torch.sort(ids_shuffle[:, :num_keep], dim=1).values
    ids_hidden = torch.sort(ids_shuffle[:, num_keep:], dim=1).values
    ids_shuffle = torch.cat([ids_keep, ids_hidden], dim=1)
    ids_restore = torch.argsort(ids_shuffle, dim=1)
    mask = torch.ones_like(scores)
    mask[:, :num_keep] = 0
    mask = torch.gather(mask, 1, ids_restore)
    return Masking(ids_keep=ids_keep, ids_restore=ids_restore, mask=mask)


def random_scores(batch: int, time: int, patches: int, generator: torch.Generator) -> torch.Tensor:
    return torch.rand(batch, time * patches, generator=generator)


def tube_scores(batch: int, time: int, patches: int, generator: torch.Generator) -> torch.Tensor:
    """One random spatial pattern repeated over all frames (FLIP/VideoMAE tube masking)."""
    spatial = torch.rand(batch, 1, patches, generator=generator).expand(batch, time, patches)
    return spatial.reshape(batch, time * patches)


def _block_mask_2d(rng: np.random.Generator, grid: int, target: int) -> np.ndarray:
    """BEiT-style block mask: add rectangles (area >= 4, aspect in [0.3, 3.33]) until `target` are covered."""
    mask = np.zeros((grid, grid), dtype=bool)
    log_aspect = (math.log(0.3), math.log(1 / 0.3))
    for _ in range(100 * grid * grid):
        if mask.sum() >= target:
            break
        area = rng.uniform(4, max(4.0, target - mask.sum()))
        aspect = math.exp(rng.uniform(*log_aspect))
        h = min(grid, max(1, round(math.sqrt(area * aspect))))
        w = min(grid, max(1, round(math.sqrt(area / aspect))))
        top, left = rng.integers(0, grid - h + 1), rng.integers(0, grid - w + 1)
        mask[top : top + h, left : left + w] = True
    return mask


def bevt_scores(batch: int, time: int, grid: int, ratio: float, rng: np.random.Generator) -> torch.Tensor:
    """BEVT-style masks: a 2-D block mask applied to a contiguous (wrapping) run of 50-75 % of the frames.

    The paper does not say how "ratio 0.65" maps onto BEVT's run-of-frames scheme, and one run covers at
    most 75 % of the frames, so rounds of (block mask x frame run) are layered until the target fraction of
    all tokens is covered; tokens of earlier rounds score higher and the exact count is cut by score.
    """
    patches = grid * grid
    target_total = num_masked(time * patches, ratio)
    scores = np.zeros((batch, time, patches), dtype=np.float64)
    for b in range(batch):
        covered = np.zeros((time, patches), dtype=bool)
        rank = 0
        while covered.sum() < target_total:
            spatial = _block_mask_2d(rng, grid, max(4, round(ratio * patches))).reshape(patches)
            run = max(1, round(time * rng.uniform(0.5, 0.75)))
            start = rng.integers(0, time)
            frames = [(start + i) % time for i in range(run)]
            new = np.zeros_like(covered)
            new[frames] = spatial[None]
            fresh = new & ~covered
            # Earlier rounds score higher, so the final cut removes tokens of the last round first.
            scores[b][fresh] = 1000.0 - rank
            covered |= new
            rank += 1
    noise = rng.uniform(0.0, 0.5, size=scores.shape)
    return torch.from_numpy(scores + noise).float().reshape(batch, time * patches)


def make_masking(
    kind: MaskKind,
    batch: int,
    time: int,
    grid: int,
    ratio: float,
    seed: int,
) -> Masking:
    """A mask hiding exactly round(ratio * T * N) tokens per sample (tube: round(ratio * N) per frame)."""
    patches = grid * grid
    generator = torch.Generator().manual_seed(seed)
    if kind == "tube":
        keep = (patches - num_masked(patches, ratio)) * time
        return masking_from_scores(tube_scores(batch, time, patches, generator), keep)
    keep = time * patches - num_masked(time * patches, ratio)
    if kind == "random":
        return masking_from_scores(random_scores(batch, time, patches, generator), keep)
    if kind == "bevt":
        scores = bevt_scores(batch, time, grid, ratio, np.random.default_rng(seed))
        return masking_from_scores(scores, keep)
    raise ValueError(f"unknown mask kind {kind!r}")


def gather_tokens(x: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
    """x [B, L, D], ids [B, M] -> x[b, ids[b, m]] as [B, M, D]."""
    return torch.gather(x, 1, ids[..., None].expand(-1, -1, x.shape[-1]))


def random_permutation(batch: int, length: int, generator: torch.Generator) -> torch.Tensor:
    """An independent random permutation of range(length) per sample: [B, L]."""
    return torch.argsort(torch.rand(batch, length, generator=generator), dim=1)


def invert_permutation(perm: torch.Tensor) -> torch.Tensor:
    return torch.argsort(perm, dim=1)


def shuffle_tokens(x: torch.Tensor, perm: torch.Tensor) -> torch.Tensor:
    """Slot j of the output holds token perm[b, j]; `unshuffle_tokens(., perm)` undoes it."""
    return gather_tokens(x, perm)


def unshuffle_tokens(x: torch.Tensor, perm: torch.Tensor) -> torch.Tensor:
    return gather_tokens(x, invert_permutation(perm))
