"""The committed demo bundle: loads, is small, and is exactly what make_demo_bundle regenerates."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
import sentencepiece as spm
import torch

from training.export.make_demo_bundle import DEFAULT_OUT, DEMO_NAME, PLACEHOLDER_SOURCE, SEED, main
from training.export.parity import FP32_TOLERANCE, check_bundle_parity
from training.model import build_model, presets
from videoprism_bundle.loader import load_bundle

MAX_BYTES = 30 * 1024 * 1024


def test_demo_bundle_loads_and_fits_in_git() -> None:
    bundle = load_bundle(DEFAULT_OUT)  # verifies every hash and the graph signatures
    manifest = bundle.manifest
    assert manifest.model_name == DEMO_NAME and manifest.precision == "fp32"
    assert sum(p.stat().st_size for p in DEFAULT_OUT.iterdir()) <= MAX_BYTES
    assert bundle.tokenizer is not None
    processor = spm.SentencePieceProcessor(model_file=str(bundle.tokenizer))
    assert processor.GetPieceSize() <= presets["tiny"].text.vocab_size  # type: ignore[union-attr]
    assert (processor.pad_id(), processor.bos_id(), processor.eos_id()) == (0, -1, -1)
    if manifest.source_checkpoint == PLACEHOLDER_SOURCE:
        assert processor.EncodeAsPieces("a red dog runs quickly in a park.") == [
            "▁a", "▁red", "▁dog", "▁runs", "▁quickly", "▁in", "▁a", "▁park", ".",
        ]  # fmt: skip
    else:  # the trained demo model's tokenizer was learnt on the synthetic world's captions
        ids = processor.EncodeAsIds("a small red square slides to the left.")
        assert (
            processor.unk_id() not in ids
            and processor.DecodeIds(ids) == "a small red square slides to the left."
        )


def test_placeholder_demo_bundle_is_the_seeded_random_tiny_model() -> None:
    manifest = load_bundle(DEFAULT_OUT).manifest
    if manifest.source_checkpoint != PLACEHOLDER_SOURCE:
        pytest.skip("the demo bundle now comes from a trained checkpoint")
    torch.manual_seed(SEED)
    model = build_model(presets["tiny"]).eval()
    for result in check_bundle_parity(model, DEFAULT_OUT, batch_sizes=(2,)):
        assert result.max_abs_error <= FP32_TOLERANCE, result


@pytest.mark.slow
def test_regeneration_is_byte_identical(tmp_path: Path) -> None:
    if load_bundle(DEFAULT_OUT).manifest.source_checkpoint != PLACEHOLDER_SOURCE:
        pytest.skip("the demo bundle now comes from a trained checkpoint")
    assert main(["--out", str(tmp_path / "demo")]) == 0

    def digests(root: Path) -> dict[str, str]:
        return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(root.iterdir())}

    assert digests(tmp_path / "demo") == digests(DEFAULT_OUT)
