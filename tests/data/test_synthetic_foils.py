"""Foils of the synthetic world: captions that differ from the clip's in one named factor (motion, shape,
colour or a detail), built without touching the clip or its own caption."""

from __future__ import annotations

import re

import numpy as np
import pytest

from training.data.synthetic import SyntheticConfig, SyntheticVideoText, make_combo_split
from training.data.synthetic.factors import combo_id, sample_factors
from training.data.synthetic.foils import foil_factors, states_a_false_detail
from training.data.synthetic.vocabulary import (
    BACKDROP_COLOUR_WORDS,
    BACKDROP_WORDS,
    MOTION_PHRASES,
    REVERSED_MOTION,
    SHAPE_WORDS,
    SIZE_WORDS,
    SPEED_WORDS,
    TEXTURE_WORDS,
    Motion,
)


def _names_motion(caption: str, motion: Motion) -> bool:
    # Whole words: "appearing" is inside "disappearing".
    return any(re.search(rf"\b{re.escape(p)}\b", caption) for pair in MOTION_PHRASES[motion] for p in pair)


def test_foils_leave_the_clip_and_caption_alone_and_change_the_named_factor() -> None:
    foiled = SyntheticVideoText(SyntheticConfig(foils=("motion", "shape", "colour")), seed=3, length=300)
    plain = SyntheticVideoText(seed=3, length=300)
    allowed = frozenset(int(c) for c in make_combo_split().combos("train"))
    reversals = 0
    for i in range(120):
        example, reference = foiled[i], plain[i]
        assert example.caption == reference.caption and np.array_equal(example.frames, reference.frames)
        assert len(example.foils) == 3 and example.caption not in example.foils
        assert reference.foils == () and foiled.foils_at(i) == example.foils  # deterministic
        factors = foiled.factors_at(i)
        reverse = REVERSED_MOTION.get(factors.motion)
        if reverse is not None and combo_id(factors.appearance_label, int(reverse)) in allowed:
            # The hardest negative: the same caption draw told backwards.
            assert _names_motion(example.foils[0], reverse) and not _names_motion(
                example.foils[0], factors.motion
            )
            reversals += 1
        # Shape and colour foils keep the motion phrase of the caption.
        assert all(_names_motion(foil, factors.motion) for foil in example.foils[1:])
    assert reversals >= 60  # 12 of 14 motions have a reverse, about 4 in 5 reversed combos are seen


@pytest.mark.parametrize("changed", ["motion", "shape", "colour"])
def test_a_foil_changes_only_its_factor_and_names_a_training_combo(changed: str) -> None:
    split = make_combo_split()
    allowed = frozenset(int(c) for c in split.combos("train"))
    rng = np.random.default_rng(0)
    for _ in range(200):
        factors = sample_factors(rng, split.combos("train"))
        foil = foil_factors(factors, changed, allowed, rng)  # type: ignore[arg-type]
        differing = {
            name for name in ("shape", "colour", "motion") if getattr(foil, name) != getattr(factors, name)
        }
        assert differing == {changed}
        assert foil.combo_id in allowed
        assert (foil.size, foil.texture, foil.backdrop, foil.speed) == (
            factors.size, factors.texture, factors.backdrop, factors.speed,
        )  # fmt: skip


def test_a_noisy_caption_gets_a_shape_foil_since_it_names_no_motion() -> None:
    dataset = SyntheticVideoText(
        SyntheticConfig(noisy_caption_rate=1.0, foils=("motion",)), seed=1, length=50
    )
    for i in range(20):
        example = dataset[i]
        # A motion foil of "a red square" would be "a red square" again: a negative equal to the positive.
        assert example.foils[0] != example.caption
    with pytest.raises(ValueError, match="unknown foil factor"):
        foil_factors(dataset.factors_at(0), "size", frozenset(), np.random.default_rng(0))  # type: ignore[arg-type]


def _words(caption: str, words: set[str]) -> bool:
    return any(re.search(rf"\b{re.escape(word)}\b", caption) for word in words)


def test_a_details_foil_keeps_the_object_and_motion_and_states_a_false_detail() -> None:
    dataset = SyntheticVideoText(SyntheticConfig(foils=("details",)), seed=4, length=300)
    details = ("size", "texture", "backdrop", "backdrop_colour", "speed")
    vocabularies = (SIZE_WORDS, TEXTURE_WORDS, BACKDROP_WORDS, BACKDROP_COLOUR_WORDS, SPEED_WORDS)
    rng = np.random.default_rng(1)
    fallbacks = 0
    for i in range(150):
        clip = dataset.factors_at(i)
        foil = foil_factors(clip, "details", frozenset(), rng)  # the combo stays, so no split is needed
        assert (foil.shape, foil.colour, foil.motion) == (clip.shape, clip.colour, clip.motion)
        assert all(getattr(foil, name) != getattr(clip, name) for name in details)
        pairs = zip(details, vocabularies, strict=True)
        true_words = {w for name, vocab in pairs for w in vocab[getattr(clip, name)]}  # type: ignore[index]
        every_word = {w for vocab in vocabularies for words in vocab.values() for w in words}
        caption = dataset[i].foils[0]
        if not _words(caption, every_word - true_words):
            # No false detail (the caption names none): the foil fell back to another shape.
            fallbacks += 1
            assert not _words(caption, {w for pair in SHAPE_WORDS[clip.shape] for w in pair})
    assert fallbacks < 30  # about 1 caption in 14 names no detail at all
    # A caption written for the foil that states only true details of the clip is caught.
    clip = dataset.factors_at(0)
    foil = foil_factors(clip, "details", frozenset(), rng)
    assert not states_a_false_detail("A red square slides to the left", foil, clip)
    assert states_a_false_detail(f"A {SIZE_WORDS[foil.size][0]} red square slides to the left", foil, clip)
