"""Resizing of learned position tables, matching `jax.image.resize(method="bilinear")` (antialiased).

The resize is linear and separable, so it is a pair of small matrices computed from the sizes alone. That
makes it exact, cheap, and export-safe: for fixed input sizes the matrices are constants in the ONNX graph.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import torch


@lru_cache(maxsize=64)
def linear_resize_matrix(in_size: int, out_size: int) -> np.ndarray:
    """Weights [out_size, in_size] of a triangle-kernel resize, widened by the scale when downsampling.

    Output sample i sits at input coordinate (i + 0.5) * in/out - 0.5 (half-pixel centres). When shrinking,
    the kernel is stretched by in/out so every input contributes (the antialiasing that a plain bilinear
    resize lacks); weights are normalised to sum to one, which also clamps at the borders.
    """
    if in_size == out_size:
        return np.eye(in_size, dtype=np.float64)
    scale = out_size / in_size
    kernel_scale = max(1.0 / scale, 1.0)
    sample = (np.arange(out_size, dtype=np.float64) + 0.5) / scale - 0.5
    distance = np.abs(sample[:, None] - np.arange(in_size, dtype=np.float64)[None, :]) / kernel_scale
    weights = np.maximum(0.0, 1.0 - distance)
    totals = weights.sum(axis=1, keepdims=True)
    weights = np.where(
        np.abs(totals) > 1000 * np.finfo(np.float32).eps, weights / np.where(totals != 0, totals, 1), 0
    )
    inside = (sample >= -0.5) & (sample <= in_size - 0.5)
    return np.where(inside[:, None], weights, 0.0)


def _matrix(in_size: int, out_size: int, like: torch.Tensor) -> torch.Tensor:
    return torch.as_tensor(linear_resize_matrix(in_size, out_size), dtype=like.dtype, device=like.device)


def resize_temporal(table: torch.Tensor, num_frames: int) -> torch.Tensor:
    """table: [T0, D] -> [num_frames, D]."""
    if table.shape[0] == num_frames:
        return table
    return _matrix(table.shape[0], num_frames, table) @ table


def resize_spatial(table: torch.Tensor, grid: int, out_h: int, out_w: int) -> torch.Tensor:
    """table: [grid*grid, D] (row-major grid) -> [out_h*out_w, D] (row-major)."""
    if (out_h, out_w) == (grid, grid):
        return table
    width = table.shape[-1]
    square = table.reshape(grid, grid, width)
    rows = _matrix(grid, out_h, table)  # (out_h, grid)
    cols = _matrix(grid, out_w, table)  # (out_w, grid)
    resized = torch.einsum("hg,gkd,wk->hwd", rows, square, cols)  # (out_h, out_w, D)
    return resized.reshape(out_h * out_w, width)
