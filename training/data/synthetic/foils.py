"""Foil captions: a clip's caption with one factor changed, as hard negatives for the text side.

In a contrastive batch of independent clips two clips rarely share colour and shape, so the loss is
satisfied by colour + shape + the kind of motion and never asks whether the square slid left or right:
time reversals and look-alike shapes are the demo model's commonest errors
(scripts/retrieval_diagnosis.py). A foil ("... slides to the right" for a clip that slides left) put
among the negatives of its clip asks exactly that on every clip, at the cost of one more caption through
the small text tower instead of one more clip through the video tower (NegCLIP, Yuksekgonul et al. 2023).

A foil is the same caption draw with one factor replaced, so it keeps the template, the synonyms and the
nuisance words, and differs only in the words of the changed factor. Foils only name combos of the
training split: a held-out combo never reaches training, not even as text.
"""

from __future__ import annotations

import dataclasses
from typing import Literal

import numpy as np

from training.data.synthetic.factors import ClipFactors
from training.data.synthetic.vocabulary import REVERSED_MOTION, Colour, Motion, Shape

FoilFactor = Literal["motion", "shape", "colour"]


def foil_factors(
    factors: ClipFactors, changed: FoilFactor, allowed: frozenset[int], rng: np.random.Generator
) -> ClipFactors:
    """`factors` with `changed` replaced by another value whose combo is in `allowed`.

    A motion foil is the time reversal when it has one and that combo is allowed (the hardest negative);
    otherwise, and for shape and colour, a uniformly drawn other value. Every appearance keeps most of its
    motions in training and vice versa (factors.make_combo_split), so some value always qualifies.
    """
    if changed == "motion":
        reverse = REVERSED_MOTION.get(factors.motion)
        if reverse is not None:
            flipped = dataclasses.replace(factors, motion=reverse)
            if flipped.combo_id in allowed:
                return flipped
        others = [dataclasses.replace(factors, motion=m) for m in Motion if m != factors.motion]
    elif changed == "shape":
        others = [dataclasses.replace(factors, shape=s) for s in Shape if s != factors.shape]
    elif changed == "colour":
        others = [dataclasses.replace(factors, colour=c) for c in Colour if c != factors.colour]
    else:
        raise ValueError(f"unknown foil factor {changed!r}; expected motion, shape or colour")
    candidates = [f for f in others if f.combo_id in allowed]
    if not candidates:
        raise ValueError(f"no {changed} foil of combo {factors.combo_id} lies in the split")
    return candidates[int(rng.integers(len(candidates)))]
