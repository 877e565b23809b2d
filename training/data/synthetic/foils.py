"""Foil captions: a clip's caption with one factor changed, as hard negatives for the text side.

In a contrastive batch of independent clips two clips rarely share colour and shape, so the loss is
satisfied by colour + shape + the kind of motion and never asks whether the square slid left or right:
time reversals and look-alike shapes are the demo model's commonest errors
(`videoprism-train diagnose-retrieval`). A foil ("... slides to the right" for a clip that slides left) put
among the negatives of its clip asks exactly that on every clip, at the cost of one more caption through
the small text tower instead of one more clip through the video tower (NegCLIP, Yuksekgonul et al. 2023).

A "details" foil keeps the object and the motion and changes every nuisance factor (size, texture,
backdrop, its colour, speed): among held-out clips of one combo only the details a caption mentions tell
the clip apart, and a model trained on independent clips learns to ignore them (the backdrop, which fills
the frame, changes nothing in the demo model's ranking: runs/adhoc analysis in docs/results.md).

A foil is the same caption draw with one factor replaced, so it keeps the template, the synonyms and the
other words, and differs only in the words of the changed factor. Foils only name combos of the
training split: a held-out combo never reaches training, not even as text.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Literal, TypeVar

import numpy as np

from training.data.synthetic import vocabulary as vocab
from training.data.synthetic.factors import ClipFactors

FoilFactor = Literal["motion", "shape", "colour", "details"]


def foil_factors(
    factors: ClipFactors, changed: FoilFactor, allowed: frozenset[int], rng: np.random.Generator
) -> ClipFactors:
    """`factors` with `changed` replaced by another value whose combo is in `allowed`.

    A motion foil is the time reversal when it has one and that combo is allowed (the hardest negative);
    otherwise, and for shape and colour, a uniformly drawn other value. Every appearance keeps most of its
    motions in training and vice versa (factors.make_combo_split), so some value always qualifies.
    """
    if changed == "motion":
        reverse = vocab.REVERSED_MOTION.get(factors.motion)
        if reverse is not None:
            flipped = dataclasses.replace(factors, motion=reverse)
            if flipped.combo_id in allowed:
                return flipped
        others = [dataclasses.replace(factors, motion=m) for m in vocab.Motion if m != factors.motion]
    elif changed == "shape":
        others = [dataclasses.replace(factors, shape=s) for s in vocab.Shape if s != factors.shape]
    elif changed == "colour":
        others = [dataclasses.replace(factors, colour=c) for c in vocab.Colour if c != factors.colour]
    elif changed == "details":
        return dataclasses.replace(
            factors,
            size=_other(factors.size, vocab.Size, rng),
            texture=_other(factors.texture, vocab.Texture, rng),
            backdrop=_other(factors.backdrop, vocab.Backdrop, rng),
            backdrop_colour=_other(factors.backdrop_colour, vocab.BackdropColour, rng),
            speed=_other(factors.speed, vocab.Speed, rng),
        )
    else:
        raise ValueError(f"unknown foil factor {changed!r}; expected motion, shape, colour or details")
    candidates = [f for f in others if f.combo_id in allowed]
    if not candidates:
        raise ValueError(f"no {changed} foil of combo {factors.combo_id} lies in the split")
    return candidates[int(rng.integers(len(candidates)))]


_Detail = TypeVar("_Detail", vocab.Size, vocab.Texture, vocab.Backdrop, vocab.BackdropColour, vocab.Speed)


def _other(value: _Detail, kind: type[_Detail], rng: np.random.Generator) -> _Detail:
    others = [v for v in kind if v != value]
    return others[int(rng.integers(len(others)))]


def _detail_words(factors: ClipFactors) -> set[str]:
    return {
        *vocab.SIZE_WORDS[factors.size],
        *vocab.TEXTURE_WORDS[factors.texture],
        *vocab.BACKDROP_WORDS[factors.backdrop],
        *vocab.BACKDROP_COLOUR_WORDS[factors.backdrop_colour],
        *vocab.SPEED_WORDS[factors.speed],
    }


def states_a_false_detail(foil_caption: str, foil: ClipFactors, clip: ClipFactors) -> bool:
    """Whether `foil_caption` (written for `foil`) names a detail that is false of `clip`.

    A details foil of a caption that mentions no detail names none either, and is then true of the clip:
    a negative equal in meaning to the positive. Words two factors share ("striped" texture and
    backdrop) do not count.
    """
    false_words = _detail_words(foil) - _detail_words(clip)
    return any(re.search(rf"\b{re.escape(word)}\b", foil_caption) for word in false_words)
