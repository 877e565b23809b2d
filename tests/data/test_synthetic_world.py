"""The synthetic world: determinism, shapes, label independence, held-out combos, motion needs time, hard
negative groups and reversal twins (foils: test_synthetic_foils.py)."""

from __future__ import annotations

import numpy as np
import pytest

from training.data.synthetic import SyntheticConfig, SyntheticVideoText, make_combo_split, make_eval_set
from training.data.synthetic.factors import ClipFactors, combo_id, sample_factors, split_combo
from training.data.synthetic.render import draw_latents, render_clip
from training.data.synthetic.vocabulary import (
    NUM_APPEARANCE_CLASSES,
    NUM_COMBOS,
    NUM_MOTION_CLASSES,
    REVERSED_MOTION,
    Motion,
)


def test_same_seed_same_clips_and_different_seed_different_clips() -> None:
    a = SyntheticVideoText(seed=7, length=4)
    b = SyntheticVideoText(seed=7, length=4)
    c = SyntheticVideoText(seed=8, length=4)
    for i in range(4):
        assert np.array_equal(a[i].frames, b[i].frames)
        assert a[i].caption == b[i].caption
    assert any(not np.array_equal(a[i].frames, c[i].frames) for i in range(4))
    # Visiting order does not matter: example 3 alone equals example 3 after 0-2.
    assert np.array_equal(SyntheticVideoText(seed=7, length=4)[3].frames, a[3].frames)


@pytest.mark.parametrize(("num_frames", "height", "width"), [(8, 64, 64), (16, 48, 80), (1, 32, 32)])
def test_frames_have_the_configured_shape_and_dtype(num_frames: int, height: int, width: int) -> None:
    dataset = SyntheticVideoText(SyntheticConfig(num_frames=num_frames, height=height, width=width), length=3)
    for i in range(3):
        example = dataset[i]
        assert example.frames.shape == (num_frames, height, width, 3)
        assert example.frames.dtype == np.uint8
        assert 0 <= example.appearance < NUM_APPEARANCE_CLASSES
        assert 0 <= example.motion < NUM_MOTION_CLASSES
        assert example.combo == example.appearance * NUM_MOTION_CLASSES + example.motion


def test_examples_agree_with_their_cheap_factors() -> None:
    dataset = SyntheticVideoText(seed=3, length=10)
    for i in range(10):
        factors = dataset.factors_at(i)
        example = dataset[i]
        assert (example.appearance, example.motion, example.combo) == (
            factors.appearance_label,
            factors.motion_label,
            factors.combo_id,
        )


def test_combo_split_holds_out_some_combos_but_no_whole_appearance_or_motion() -> None:
    split = make_combo_split()
    train, heldout = split.combos("train"), split.combos("heldout")
    assert len(train) + len(heldout) == NUM_COMBOS
    assert not set(train.tolist()) & set(heldout.tolist())
    assert 0.1 * NUM_COMBOS < len(heldout) < 0.3 * NUM_COMBOS
    train_appearances = {c // NUM_MOTION_CLASSES for c in train.tolist()}
    train_motions = {c % NUM_MOTION_CLASSES for c in train.tolist()}
    assert train_appearances == set(range(NUM_APPEARANCE_CLASSES))
    assert train_motions == set(range(NUM_MOTION_CLASSES))
    assert make_combo_split().heldout == split.heldout
    assert make_combo_split(seed=1).heldout != split.heldout


def test_train_split_never_shows_a_heldout_combo_and_heldout_shows_only_those() -> None:
    heldout = make_combo_split().heldout
    train = SyntheticVideoText(split="train", length=3000)
    assert all(train.factors_at(i).combo_id not in heldout for i in range(3000))
    unseen = SyntheticVideoText(split="heldout", length=500)
    assert all(unseen.factors_at(i).combo_id in heldout for i in range(500))
    eval_set = make_eval_set("heldout", n=20, seed=1)
    assert set(eval_set.combo.tolist()) <= heldout


def _independence_chi2(
    first: np.ndarray, second: np.ndarray, n_first: int, n_second: int
) -> tuple[float, int]:
    counts = np.zeros((n_first, n_second))
    np.add.at(counts, (first, second), 1)
    expected = counts.sum(1, keepdims=True) * counts.sum(0, keepdims=True) / counts.sum()
    return float(((counts - expected) ** 2 / expected).sum()), (n_first - 1) * (n_second - 1)


def test_appearance_and_motion_are_independent_in_the_probe_split() -> None:
    dataset = SyntheticVideoText(split="all", seed=5, length=20_000)
    factors = [dataset.factors_at(i) for i in range(20_000)]
    appearance = np.array([f.appearance_label for f in factors])
    motion = np.array([f.motion_label for f in factors])
    chi2, dof = _independence_chi2(appearance, motion, NUM_APPEARANCE_CLASSES, NUM_MOTION_CLASSES)
    # Under independence chi2 ~ dof +- sqrt(2 dof); 6 standard deviations is a safe bound.
    assert chi2 < dof + 6 * np.sqrt(2 * dof)
    # Per appearance class, the motion labels are close to uniform (about 22 draws per cell).
    per_class = np.zeros((NUM_APPEARANCE_CLASSES, NUM_MOTION_CLASSES))
    np.add.at(per_class, (appearance, motion), 1)
    assert per_class.min() > 0
    # The check has teeth: a sampler that ties motion to appearance fails it by far.
    chi2_tied, _ = _independence_chi2(
        appearance, appearance % NUM_MOTION_CLASSES, NUM_APPEARANCE_CLASSES, NUM_MOTION_CLASSES
    )
    assert chi2_tied > 10 * dof


def _render_with(factors: ClipFactors, seed: int) -> np.ndarray:
    latents = draw_latents(np.random.default_rng(seed))
    return render_clip(factors, latents, num_frames=8, height=64, width=64)


@pytest.mark.parametrize("motion", sorted(REVERSED_MOTION))
def test_a_motion_and_its_reverse_show_the_same_frames_in_opposite_order(motion: Motion) -> None:
    """So no single frame can tell left from right, clockwise from anticlockwise, and so on."""
    all_combos = make_combo_split().combos("all")
    for seed in range(4):
        base = sample_factors(np.random.default_rng(100 + seed), all_combos)
        forward = ClipFactors(**{**base.__dict__, "motion": motion})
        backward = ClipFactors(**{**base.__dict__, "motion": REVERSED_MOTION[motion]})
        frames = _render_with(forward, seed)
        assert np.array_equal(frames, _render_with(backward, seed)[::-1])
        # ... and the clip really moves, so the direction is there to be seen across frames.
        assert not np.array_equal(frames[0], frames[-1])


def test_every_motion_changes_the_frames() -> None:
    for motion in Motion:
        shape, colour, _ = split_combo(0)
        base = sample_factors(np.random.default_rng(int(motion)), make_combo_split().combos("all"))
        factors = ClipFactors(**{**base.__dict__, "shape": shape, "colour": colour, "motion": motion})
        frames = _render_with(factors, int(motion)).astype(np.int16)
        # Some frame differs clearly from the first (a bounce may end where it began, so not always the last).
        changed = np.abs(frames - frames[:1]).sum(-1) > 30  # (T, H, W)
        assert changed.sum(axis=(1, 2)).max() >= 20, motion


def test_object_is_drawn_in_its_colour() -> None:
    """The object's colour dominates the pixels that differ from the backdrop's first frame."""
    dataset = SyntheticVideoText(split="all", seed=11, length=30)
    from training.data.synthetic.vocabulary import COLOUR_RGB

    for i in range(30):
        factors = dataset.factors_at(i)
        frames = dataset[i].frames.astype(np.float32) / 255.0
        bright = frames.max(-1) > 0.5  # backdrops stay below 0.5, objects mostly above
        if bright.sum() < 20:
            continue
        mean = frames[bright].mean(0)
        palette = np.array(list(COLOUR_RGB.values()))
        direction = palette / np.linalg.norm(palette, axis=1, keepdims=True)
        assert int(np.argmax(direction @ (mean / np.linalg.norm(mean)))) == int(factors.colour), i


def test_hard_negative_groups_share_one_factor_and_stay_deterministic() -> None:
    size = 8
    config = SyntheticConfig(hard_negative_group=size)
    dataset = SyntheticVideoText(config, seed=3, length=size * 40)
    heldout = make_combo_split().heldout
    kinds = set()
    for group in range(40):
        factors = [dataset.factors_at(group * size + i) for i in range(size)]
        shared = [
            name for name in ("colour", "shape", "motion") if len({getattr(f, name) for f in factors}) == 1
        ]
        assert shared, f"group {group} shares no factor: {factors}"
        kinds.update(shared)
        assert all(f.combo_id not in heldout for f in factors)  # still the train split
    assert kinds == {"colour", "shape", "motion"}  # every kind of group is drawn
    # Index-determined: a fresh dataset (or another visiting order) gives the same clip.
    again = SyntheticVideoText(config, seed=3, length=size * 40)
    assert np.array_equal(again[17].frames, dataset[17].frames)
    assert again.caption_at(17) == dataset.caption_at(17)
    # Without groups consecutive clips are independent: 8 in a row rarely share a factor.
    plain = SyntheticVideoText(seed=3, length=size * 40)
    runs_sharing = sum(
        len({plain.factors_at(g * size + i).colour for i in range(size)}) == 1 for g in range(40)
    )
    assert runs_sharing == 0


def test_reversal_twins_are_the_previous_clip_backwards_with_its_own_caption() -> None:
    config = SyntheticConfig(reversal_twin_rate=1.0)
    dataset = SyntheticVideoText(config, seed=5, length=200)
    heldout = make_combo_split().heldout
    twins = 0
    for pair in range(100):
        first, second = dataset[2 * pair], dataset[2 * pair + 1]
        f1, f2 = dataset.factors_at(2 * pair), dataset.factors_at(2 * pair + 1)
        assert f2.combo_id == second.combo and f2.combo_id not in heldout  # still the train split
        if np.array_equal(first.frames[::-1], second.frames):
            twins += 1
            assert f2.motion == REVERSED_MOTION[f1.motion] and f2.appearance_label == f1.appearance_label
        else:  # only a motion with no reverse (bounce, pass) or a held-out reversed combo is not twinned
            reverse = REVERSED_MOTION.get(f1.motion)
            assert reverse is None or combo_id(f1.appearance_label, int(reverse)) in heldout
    # 12 of 14 motions have a reverse and about 4 in 5 reversed combos are seen.
    assert 60 <= twins <= 95
    # Even examples are untouched: the same clips as without twins.
    plain = SyntheticVideoText(seed=5, length=200)
    assert all(np.array_equal(plain[2 * k].frames, dataset[2 * k].frames) for k in range(5))
    half = SyntheticVideoText(SyntheticConfig(reversal_twin_rate=0.5), seed=5, length=200)
    halves = sum(np.array_equal(half[2 * k].frames[::-1], half[2 * k + 1].frames) for k in range(100))
    assert 25 <= halves < twins
