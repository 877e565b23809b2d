"""Masking, shuffle and un-shuffle invariants."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from training.masking import (
    gather_tokens,
    invert_permutation,
    make_masking,
    num_masked,
    random_permutation,
    shuffle_tokens,
    unshuffle_tokens,
)


@pytest.mark.parametrize("kind", ["random", "tube", "bevt"])
@pytest.mark.parametrize("ratio", [0.5, 0.55, 0.65, 0.75, 0.85])
def test_every_sample_hides_exactly_the_ratio(kind: str, ratio: float) -> None:
    batch, time, grid = 5, 8, 8
    m = make_masking(kind, batch, time, grid, ratio, seed=3)  # type: ignore[arg-type]
    total = time * grid * grid
    expected = num_masked(grid * grid, ratio) * time if kind == "tube" else num_masked(total, ratio)
    assert m.mask.shape == (batch, total)
    assert torch.all(m.mask.sum(dim=1) == expected)
    assert m.ids_keep.shape == (batch, total - expected)
    # ids_keep names exactly the unmasked tokens, in increasing order.
    for b in range(batch):
        assert torch.equal(m.ids_keep[b], torch.nonzero(m.mask[b] == 0).flatten())


def test_tube_mask_is_the_same_in_every_frame() -> None:
    m = make_masking("tube", 3, 8, 8, 0.5, seed=0).mask.reshape(3, 8, 64)
    assert torch.all(m == m[:, :1])
    assert not torch.all(m[0] == m[1])  # but differs between samples


def test_bevt_mask_is_ragged_across_frames_and_blocky() -> None:
    m = make_masking("bevt", 4, 8, 8, 0.65, seed=1).mask.reshape(4, 8, 8, 8)
    per_frame = m.sum(dim=(2, 3))
    assert (per_frame.max(dim=1).values > per_frame.min(dim=1).values).any()

    # Block masks: a hidden patch usually has a hidden 4-neighbour (random masks at 0.65 would too, so
    # compare against the rate a random mask of the same ratio gives).
    def neighbour_rate(mask: torch.Tensor) -> float:
        right = (mask[..., :, 1:] * mask[..., :, :-1]).sum() / mask[..., :, :-1].sum()
        return float(right)

    rand = make_masking("random", 4, 8, 8, 0.65, seed=1).mask.reshape(4, 8, 8, 8)
    assert neighbour_rate(m) > neighbour_rate(rand) + 0.05


def test_masks_are_a_pure_function_of_the_seed() -> None:
    a = make_masking("bevt", 2, 8, 8, 0.65, seed=7)
    b = make_masking("bevt", 2, 8, 8, 0.65, seed=7)
    c = make_masking("bevt", 2, 8, 8, 0.65, seed=8)
    assert torch.equal(a.mask, b.mask) and not torch.equal(a.mask, c.mask)


def test_restore_puts_kept_and_hidden_tokens_back_in_place() -> None:
    m = make_masking("random", 3, 4, 4, 0.75, seed=0)
    x = torch.randn(3, 64, 5)
    kept = gather_tokens(x, m.ids_keep)
    hidden_ids = torch.stack([torch.nonzero(row).flatten() for row in m.mask])
    hidden = gather_tokens(x, hidden_ids)
    assert torch.equal(gather_tokens(torch.cat([kept, hidden], dim=1), m.ids_restore), x)


@settings(max_examples=25, deadline=None)
@given(batch=st.integers(1, 4), length=st.integers(1, 40), seed=st.integers(0, 10_000))
def test_shuffle_then_unshuffle_is_identity(batch: int, length: int, seed: int) -> None:
    perm = random_permutation(batch, length, torch.Generator().manual_seed(seed))
    x = torch.randn(batch, length, 3)
    assert torch.equal(unshuffle_tokens(shuffle_tokens(x, perm), perm), x)
    assert torch.equal(shuffle_tokens(unshuffle_tokens(x, perm), perm), x)
    assert torch.equal(invert_permutation(invert_permutation(perm)), perm)
    assert torch.equal(torch.sort(perm, dim=1).values, torch.arange(length).expand(batch, -1))


def test_shuffle_is_drawn_per_sample() -> None:
    perm = random_permutation(4, 64, torch.Generator().manual_seed(0))
    assert len({tuple(row.tolist()) for row in perm}) == 4


def test_ratio_outside_range_is_rejected() -> None:
    with pytest.raises(ValueError):
        make_masking("random", 1, 2, 2, 1.0, seed=0)
