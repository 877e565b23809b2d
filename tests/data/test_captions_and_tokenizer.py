"""Captions name both factors unambiguously; the tokenizer trained on them round-trips and pads like serving."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import sentencepiece as spm

from training.data.synthetic import SyntheticConfig, SyntheticVideoText
from training.data.synthetic.vocabulary import COLOUR_WORDS, MOTION_PHRASES, SHAPE_WORDS
from training.data.tokenizer_training import TokenizerTrainingConfig, synthetic_captions, train_tokenizer
from videoprism_bundle.canonicalize import canonicalize_text
from videoprism_bundle.tokenizer import TextTokenizer


def _mentions(text: str, phrase: str) -> bool:
    return re.search(rf"\b{re.escape(phrase)}\b", text) is not None


def _named(text: str, vocabulary: dict[int, list[str]]) -> set[int]:
    return {value for value, phrases in vocabulary.items() if any(_mentions(text, p) for p in phrases)}


COLOURS = {int(c): list(words) for c, words in COLOUR_WORDS.items()}
SHAPES = {int(s): [w for pair in pairs for w in pair] for s, pairs in SHAPE_WORDS.items()}
MOTIONS = {int(m): [w for pair in pairs for w in pair] for m, pairs in MOTION_PHRASES.items()}


def test_every_caption_names_exactly_its_colour_shape_and_motion() -> None:
    dataset = SyntheticVideoText(split="all", seed=2, length=2000)
    templates = set()
    for i in range(2000):
        factors = dataset.factors_at(i)
        caption = canonicalize_text(dataset.caption_at(i))
        assert _named(caption, COLOURS) == {int(factors.colour)}, caption
        assert _named(caption, SHAPES) == {int(factors.shape)}, caption
        assert _named(caption, MOTIONS) == {int(factors.motion)}, caption
        templates.add(caption.split()[0])
    assert len(templates) >= 5  # the templates vary, not one sentence pattern


def test_the_same_clip_class_gets_varied_captions() -> None:
    dataset = SyntheticVideoText(split="all", seed=4, length=3000)
    by_combo: dict[int, list[str]] = {}
    for i in range(3000):
        by_combo.setdefault(dataset.factors_at(i).combo_id, []).append(dataset.caption_at(i))
    repeated = [captions for captions in by_combo.values() if len(captions) >= 3]
    assert repeated
    assert all(len(set(captions)) >= 2 for captions in repeated)
    assert len({c for captions in by_combo.values() for c in captions}) > 2500


def test_noisy_captions_name_the_object_but_not_the_motion() -> None:
    dataset = SyntheticVideoText(SyntheticConfig(noisy_caption_rate=1.0), split="all", length=300)
    for i in range(300):
        factors = dataset.factors_at(i)
        caption = canonicalize_text(dataset.caption_at(i))
        assert _named(caption, COLOURS) == {int(factors.colour)}
        assert _named(caption, MOTIONS) == set(), caption


@pytest.fixture(scope="module")
def tokenizer_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return train_tokenizer(synthetic_captions(3000, seed=0), tmp_path_factory.mktemp("tok") / "synthetic")


def test_tokenizer_has_the_encoder_special_ids(tokenizer_model: Path) -> None:
    processor = spm.SentencePieceProcessor(model_file=str(tokenizer_model))
    assert processor.GetPieceSize() == TokenizerTrainingConfig().vocab_size
    assert (processor.pad_id(), processor.unk_id(), processor.bos_id(), processor.eos_id()) == (0, 1, -1, -1)


def test_tokenizer_round_trips_unseen_captions(tokenizer_model: Path) -> None:
    processor = spm.SentencePieceProcessor(model_file=str(tokenizer_model))
    for caption in synthetic_captions(300, seed=99):
        canonical = canonicalize_text(caption)
        ids = processor.EncodeAsIds(canonical)
        assert 1 not in ids  # no unknown pieces: every character and word is covered
        assert processor.DecodeIds(ids) == canonical


def test_serving_tokenizer_pads_synthetic_captions_with_zero(tokenizer_model: Path) -> None:
    tokenizer = TextTokenizer(tokenizer_model, max_length=32)
    batch = tokenizer.encode_batch(
        ["A small RED square slides to the left!", "two blue discs pass each other"]
    )
    assert batch.ids.shape == (2, 32)
    for row, length in enumerate(batch.lengths):
        assert 0 < length < 32
        assert (batch.ids[row, length:] == 0).all()
        assert (batch.paddings[row, length:] == 1.0).all()
        assert (batch.ids[row, :length] != 0).all()
    # Punctuation and case do not change the ids: training and serving see the same canonical text.
    assert tokenizer.encode_ids("A small RED square slides to the left!") == tokenizer.encode_ids(
        "a small red square slides to the left"
    )
