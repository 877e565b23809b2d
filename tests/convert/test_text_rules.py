"""The bundle text path (`videoprism_bundle`) follows the official rules (official.md §3) with a tokenizer
file of the kind the converter copies into a checkpoint: canonicalization examples produced by the official
code, no BOS/EOS, head truncation to 64, right padding with id 0 and paddings 1.0."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tests.convert.fixtures import ENV_VAR, parity_a
from tests.convert.test_converter import _spm
from videoprism_bundle.canonicalize import canonicalize_text
from videoprism_bundle.tokenizer import TextTokenizer


def test_canonicalization_matches_the_official_examples() -> None:
    fixture = parity_a()
    if fixture is None:
        pytest.skip(f"parity_a fixture not found (../shared/videoprism/parity_a or ${ENV_VAR})")
    examples = json.loads((fixture / "text_canonicalization.json").read_text())
    assert examples, "the fixture lists no examples"
    for raw, canonical in examples.items():
        assert canonicalize_text(raw) == canonical, raw


def test_token_batches_follow_the_official_padding_rules(tmp_path: Path) -> None:
    import sentencepiece as spm

    model_file = _spm(tmp_path / "tok.model", 32)
    processor = spm.SentencePieceProcessor(model_file=str(model_file))
    tokenizer = TextTokenizer(model_file, max_length=64)
    long_text = " ".join(["a video of the dog"] * 30)
    texts = ["A video of playing DRUMS!", "", long_text]
    batch = tokenizer.encode_batch(texts)
    assert batch.ids.shape == batch.paddings.shape == (3, 64)
    for row, raw in enumerate(texts):
        want = processor.EncodeAsIds(canonicalize_text(raw))[:64]  # no BOS/EOS, head truncation
        n = len(want)
        assert batch.ids[row, :n].tolist() == want
        assert (batch.ids[row, n:] == 0).all()
        np.testing.assert_array_equal(batch.paddings[row], (np.arange(64) >= n).astype(np.float32))
    assert len(processor.EncodeAsIds(canonicalize_text(long_text))) > 64  # truncation really happened
    assert batch.paddings[1].sum() == 64 - len(processor.EncodeAsIds("."))  # "" canonicalizes to "."
