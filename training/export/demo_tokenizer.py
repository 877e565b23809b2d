"""A small SentencePiece tokenizer trained on generated caption-like sentences, for the placeholder demo.

Deterministic: the sentences are an enumeration (no randomness) and training runs on one thread, so the
same code writes the same `tokenizer.model` bytes. Ids follow the official convention: 0 = pad, no BOS/EOS.
"""

from __future__ import annotations

import io
import itertools
from collections.abc import Iterator
from pathlib import Path

import sentencepiece as spm

from videoprism_bundle.canonicalize import canonicalize_text

_COLOURS = (
    "red", "green", "blue", "yellow", "orange", "purple", "white", "black", "grey", "pink", "brown", "golden",
    "silver", "dark", "bright", "small", "large", "tiny", "big", "striped", "dotted", "shiny",
)  # fmt: skip
_THINGS = (
    "circle", "square", "triangle", "star", "ball", "box", "ring", "cross", "dog", "cat", "car", "person",
    "man", "woman", "child", "bird", "horse", "bicycle", "boat", "train", "plane", "tree", "flower", "cup",
    "hand", "robot", "fish", "player", "dancer", "cloud",
)  # fmt: skip
_MOTIONS = (
    "moves left", "moves right", "moves up", "falls down", "bounces", "spins", "rotates slowly",
    "grows larger", "shrinks", "stays still", "zooms in", "slides across the screen", "runs quickly",
    "walks", "jumps", "flies away", "swims", "drives along the road", "dances", "waves", "turns around",
    "rolls over", "climbs", "appears", "disappears", "follows another one", "circles the center",
    "shakes", "blinks", "crosses the frame diagonally",
)  # fmt: skip
_SETTINGS = (
    "", " on a dark background", " in a park", " on a striped background", " at night", " indoors",
    " near the water", " in the city", " on a checkered floor", " under a blue sky", " in the kitchen",
    " on the beach", " against a plain white wall", " in the snow", " on a busy street",
)  # fmt: skip
_TEMPLATES = (
    "a {c} {t} {m}{s}", "the {c} {t} {m}{s}", "a video of a {c} {t} that {m}{s}", "two {c} {t}s {m}{s}",
    "in this clip the {c} {t} {m}{s}", "we see a {c} {t} that {m}{s}",
)  # fmt: skip
# Every letter and digit once, so no input character maps to the unknown piece.
_ALPHABET = "abcdefghijklmnopqrstuvwxyz 0123456789 quick jovial zebras vex"


# Every 89th combination (89 is prime to every list length) still visits each word thousands of times
# while keeping training well under a second.
_STRIDE = 89


def caption_corpus() -> Iterator[str]:
    """Canonicalized caption-like sentences, in a fixed order."""
    combos = itertools.product(_TEMPLATES, _COLOURS, _THINGS, _MOTIONS, _SETTINGS)
    for template, colour, thing, motion, setting in itertools.islice(combos, 0, None, _STRIDE):
        yield canonicalize_text(template.format(c=colour, t=thing, m=motion, s=setting))
    yield canonicalize_text(_ALPHABET)


def train_tokenizer(out_file: Path, vocab_size: int, sentences: Iterator[str] | None = None) -> Path:
    """Train a BPE SentencePiece model of exactly `vocab_size` pieces and write it to `out_file`.

    BPE rather than unigram: on a corpus this repetitive, unigram's seed pieces cap the vocabulary far below
    512 and split common words into letters; BPE fills the vocabulary with whole words.
    """
    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=sentences if sentences is not None else caption_corpus(),
        model_writer=model,
        model_type="bpe",
        vocab_size=vocab_size,
        character_coverage=1.0,
        pad_id=0,
        unk_id=1,
        bos_id=-1,
        eos_id=-1,
        num_threads=1,
        minloglevel=2,
    )
    out_file.parent.mkdir(parents=True, exist_ok=True)
    out_file.write_bytes(model.getvalue())
    return out_file
