"""Position-table resizing equals the official `jax.image.resize(..., "bilinear")` (antialiased) both ways:
against PyTorch's antialiased interpolate, a loop-by-loop reference of the jax kernel, and hand-computed
weights. Downsampling is the case that matters: plain bilinear differs there by O(1)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from tests.convert import reference
from training.model.position import linear_resize_matrix, resize_spatial, resize_temporal

SPATIAL = [(8, 6), (8, 3), (16, 10), (16, 8), (16, 12), (4, 2), (4, 6), (16, 20), (8, 1)]
TEMPORAL = [(8, 3), (8, 5), (16, 8), (16, 1), (16, 4), (4, 6), (8, 16), (16, 32)]


@pytest.mark.parametrize(("grid", "out"), SPATIAL)
def test_spatial_resize_matches_torch_antialias_and_jax_kernel(grid: int, out: int) -> None:
    table = torch.randn(grid * grid, 5, generator=torch.Generator().manual_seed(grid * 100 + out))
    got = resize_spatial(table, grid, out, out)
    square = table.reshape(grid, grid, 5).permute(2, 0, 1)[None]  # (1, D, g, g)
    want = F.interpolate(square, size=(out, out), mode="bilinear", align_corners=False, antialias=True)
    want = want[0].permute(1, 2, 0).reshape(out * out, 5)
    torch.testing.assert_close(got, want, atol=5e-6, rtol=0)  # float32 rounding
    ref = reference.resize_axis(
        reference.resize_axis(table.double().numpy().reshape(grid, grid, 5), 0, out), 1, out
    )
    exact = resize_spatial(table.double(), grid, out, out).numpy()  # float64: compare the kernels exactly
    np.testing.assert_allclose(exact, ref.reshape(out * out, 5), atol=1e-12)


@pytest.mark.parametrize(("frames", "out"), TEMPORAL)
def test_temporal_resize_matches_torch_antialias_and_jax_kernel(frames: int, out: int) -> None:
    table = torch.randn(frames, 7, generator=torch.Generator().manual_seed(frames * 100 + out))
    got = resize_temporal(table, out)
    want = F.interpolate(
        table[None, None], size=(out, 7), mode="bilinear", align_corners=False, antialias=True
    )
    torch.testing.assert_close(got, want[0, 0], atol=5e-6, rtol=0)  # float32 rounding
    np.testing.assert_allclose(
        resize_temporal(table.double(), out).numpy(),
        reference.resize_axis(table.double().numpy(), 0, out),
        atol=1e-12,
    )


def test_downsampling_weights_by_hand() -> None:
    # 4 -> 2: the kernel is stretched to radius 2; output 0 sits at input coordinate 0.5, so the weights
    # of inputs 0..3 are 1 - |0.5 - j| / 2 = 0.75, 0.75, 0.25, 0 before normalisation (sum 1.75).
    np.testing.assert_allclose(linear_resize_matrix(4, 2)[0], [3 / 7, 3 / 7, 1 / 7, 0.0], atol=1e-12)
    # 8 -> 3 (config B's temporal case): the middle output sits at 3.5, radius 8/3.
    w = np.maximum(0.0, 1 - np.abs(3.5 - np.arange(8)) / (8 / 3))
    np.testing.assert_allclose(linear_resize_matrix(8, 3)[1], w / w.sum(), atol=1e-12)


def test_plain_bilinear_would_be_wrong_when_downsampling() -> None:
    """Guards the premise: without antialiasing the 8 -> 3 result is far off, so the checks above bite."""
    table = torch.randn(8, 4, generator=torch.Generator().manual_seed(0))
    plain = F.interpolate(table[None, None], size=(3, 4), mode="bilinear", align_corners=False)[0, 0]
    assert (resize_temporal(table, 3) - plain).abs().max() > 0.1
