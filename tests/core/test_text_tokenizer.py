from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from service.text import TextTokenizer
from videoprism_bundle.canonicalize import canonicalize_text
from videoprism_bundle.loader import Bundle


@pytest.mark.parametrize(
    ("raw", "canonical"),
    [
        ("Hello, World!", "hello world."),
        ("Hello,World..", "hello world."),
        ("  Hello   WORLD", "hello world."),
        ("", "."),
        ("Don't stop-believing!!", "don t stop believing."),
        ("café  Ünïcode — dash", "café ünïcode — dash."),
        ("tab\tand\nnewline", "tab and newline."),
        ("already.", "already."),
        ("C++ & Python (3.11)", "c python 3 11."),
    ],
)
def test_canonicalization_examples(raw: str, canonical: str) -> None:
    assert canonicalize_text(raw) == canonical


@given(st.text(max_size=60))
def test_canonicalization_is_idempotent_and_ends_with_one_dot(text: str) -> None:
    once = canonicalize_text(text)
    assert once.endswith(".")
    assert canonicalize_text(once) == once
    assert once == once.lower() and "  " not in once


@pytest.fixture(scope="module")
def tokenizer(tiny_bundle: Bundle) -> TextTokenizer:
    assert tiny_bundle.tokenizer is not None
    return TextTokenizer(tiny_bundle.tokenizer, max_length=16)


def test_batch_shapes_dtypes_and_padding(tokenizer: TextTokenizer) -> None:
    batch = tokenizer.encode_batch(["a dog", "Hello, World!", ""])
    assert batch.ids.dtype == np.int64 and batch.ids.shape == (3, 16)
    assert batch.paddings.dtype == np.float32 and batch.paddings.shape == (3, 16)
    for row, length in enumerate(batch.lengths):
        assert length == len(tokenizer.encode_ids(["a dog", "Hello, World!", ""][row]))
        assert (batch.paddings[row, :length] == 0.0).all() and (batch.paddings[row, length:] == 1.0).all()
        assert (batch.ids[row, length:] == 0).all() and (batch.ids[row, :length] != 0).all()
    assert batch.lengths[2] >= 1  # "" still encodes its "."


def test_equivalent_texts_share_ids(tokenizer: TextTokenizer) -> None:
    a, b = tokenizer.encode_batch(["A DOG, runs!", "a dog runs"]).ids
    assert (a == b).all()


def test_head_truncation_keeps_the_first_max_length_ids(
    tokenizer: TextTokenizer, tiny_bundle: Bundle
) -> None:
    long_text = "a dog runs across the park and the cat jumps over a small box " * 4
    assert tiny_bundle.tokenizer is not None
    untruncated = TextTokenizer(tiny_bundle.tokenizer, max_length=1000).encode_ids(long_text)
    assert len(untruncated) > 16
    batch = tokenizer.encode_batch([long_text])
    assert batch.ids[0].tolist() == untruncated[:16]
    assert batch.lengths == [16]


def test_no_bos_or_eos_is_added(tokenizer: TextTokenizer, tiny_bundle: Bundle) -> None:
    import sentencepiece as spm

    assert tiny_bundle.tokenizer is not None
    processor = spm.SentencePieceProcessor(model_file=str(tiny_bundle.tokenizer))
    assert tokenizer.encode_ids("a chef cooks") == processor.EncodeAsIds("a chef cooks.")


def test_unpaired_surrogates_are_a_clear_invalid_request(tokenizer: TextTokenizer) -> None:
    from service.errors import InvalidRequestError

    with pytest.raises(InvalidRequestError, match="unpaired surrogate at character 2"):
        tokenizer.encode_batch(["ok", "ab\ud800cd"])
    assert tokenizer.encode_batch(["ab\U0001f600cd"]).ids.shape[0] == 1  # a real astral character is fine
