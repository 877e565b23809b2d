"""Captions: varied templates and synonyms, always naming the colour, the shape and the motion.

Size, texture, speed and backdrop are mentioned only sometimes, as real captions mention details. Since
every caption names both the appearance (colour + shape) and the motion, text-to-video retrieval among
clips that share one of them can only succeed by using the other.
"""

from __future__ import annotations

import numpy as np

from training.data.synthetic.factors import ClipFactors
from training.data.synthetic.vocabulary import (
    BACKDROP_COLOUR_WORDS,
    BACKDROP_WORDS,
    COLOUR_WORDS,
    MOTION_PHRASES,
    PAIR_MOTIONS,
    SHAPE_WORDS,
    SIZE_WORDS,
    SPEED_WORDS,
    TEXTURE_WORDS,
    Backdrop,
)

# {subject}: noun phrase with its article; {verb}: present tense; {gerund}; {setting}: " on a ... background"
# or ""; {lead}: "on a ... background, " or ""; {there}: "there is" or "there are". Speed adverbs are placed by `_verb_with_speed`.
_TEMPLATES: tuple[str, ...] = (
    "{subject} {verb}{setting}",
    "{lead}{subject} {verb}",
    "{there} {subject} {gerund}{setting}",
    "{subject} {gerund}{setting}",
    "a video of {subject} that {verb}{setting}",
    "in this clip {subject} {verb}{setting}",
    "{lead}we see {subject} {gerund}",
)

_SINGLE_ARTICLES = ("a", "the", "one")
_PAIR_DETERMINERS = ("two", "two identical")


def _pick(rng: np.random.Generator, options: tuple[str, ...]) -> str:
    return options[int(rng.integers(len(options)))]


def _subject(factors: ClipFactors, rng: np.random.Generator) -> str:
    pair = factors.motion in PAIR_MOTIONS
    words: list[str] = []
    if rng.random() < 0.5:
        words.append(_pick(rng, SIZE_WORDS[factors.size]))
    texture_words = TEXTURE_WORDS[factors.texture]
    if texture_words and rng.random() < 0.5:
        words.append(_pick(rng, texture_words))
    words.append(_pick(rng, COLOUR_WORDS[factors.colour]))
    singular, plural = SHAPE_WORDS[factors.shape][int(rng.integers(len(SHAPE_WORDS[factors.shape])))]
    words.append(plural if pair else singular)
    determiner = _pick(rng, _PAIR_DETERMINERS if pair else _SINGLE_ARTICLES)
    if determiner == "a" and words[0][0] in "aeiou":
        determiner = "an"
    return " ".join([determiner, *words])


def _setting(factors: ClipFactors, rng: np.random.Generator) -> str:
    """ " on a striped black background" or similar; the pattern or the colour may be left out."""
    words: list[str] = []
    if factors.backdrop is not Backdrop.PLAIN or rng.random() < 0.5:
        words.append(_pick(rng, BACKDROP_WORDS[factors.backdrop]))
    if rng.random() < 0.6:
        words.append(_pick(rng, BACKDROP_COLOUR_WORDS[factors.backdrop_colour]))
    preposition = _pick(rng, ("on", "against", "over"))
    return f" {preposition} a {' '.join([*words, 'background'])}"


def _verb_with_speed(phrase: str, factors: ClipFactors, rng: np.random.Generator) -> str:
    """Maybe add a speed adverb, before or after the motion phrase."""
    if rng.random() < 0.5:
        return phrase
    adverb = _pick(rng, SPEED_WORDS[factors.speed])
    return f"{adverb} {phrase}" if rng.random() < 0.5 else f"{phrase} {adverb}"


def make_caption(factors: ClipFactors, rng: np.random.Generator) -> str:
    """One caption for a clip, e.g. "a small red square slides to the left on a striped background"."""
    phrases = MOTION_PHRASES[factors.motion]
    verb, gerund = phrases[int(rng.integers(len(phrases)))]
    template = _pick(rng, _TEMPLATES)
    with_setting = rng.random() < 0.5
    setting = _setting(factors, rng) if with_setting else ""
    lead = f"{setting.strip()}, " if with_setting else ""
    caption = template.format(
        subject=_subject(factors, rng),
        verb=_verb_with_speed(verb, factors, rng),
        gerund=_verb_with_speed(gerund, factors, rng),
        setting=setting,
        lead=lead,
        there="there are" if factors.motion in PAIR_MOTIONS else "there is",
    )
    return caption[0].upper() + caption[1:]


def make_noisy_caption(factors: ClipFactors, rng: np.random.Generator) -> str:
    """A weak caption that names only the object, as alt-text or metadata would: "a red square"."""
    return _subject(factors, rng)
