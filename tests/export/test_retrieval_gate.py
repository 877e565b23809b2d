"""The int8 accuracy gate's machinery: derived bundles, bundle embeddings, R@1, and the exit code."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.export.conftest import ExportedTiny
from training.export.bundle_retrieval import embed_with_bundle, main, text_to_video_recall
from training.export.derive import derive_bundle
from videoprism_bundle.loader import load_bundle


@pytest.fixture(scope="module")
def int8_bundle(tiny_export: ExportedTiny, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("derived") / "int8"
    derive_bundle(tiny_export.bundle, out, "int8")
    return out


def test_derived_int8_bundle_is_valid_and_marked(tiny_export: ExportedTiny, int8_bundle: Path) -> None:
    derived = load_bundle(int8_bundle).manifest  # hashes and graph IO verified by the service loader
    original = load_bundle(tiny_export.bundle).manifest
    assert derived.precision == "int8"
    assert derived.files_sha256["tokenizer.model"] == original.files_sha256["tokenizer.model"]
    assert derived.files_sha256["video_encoder.onnx"] != original.files_sha256["video_encoder.onnx"]
    assert derived.video_encoder.inputs == original.video_encoder.inputs
    with pytest.raises(ValueError, match="fp32"):
        derive_bundle(int8_bundle, int8_bundle.parent / "again", "fp16")


def test_recall_counts_only_the_own_item() -> None:
    rng = np.random.default_rng(0)
    video = rng.normal(size=(6, 4)).astype(np.float32)
    video /= np.linalg.norm(video, axis=1, keepdims=True)  # unit rows, as the encoders output
    assert text_to_video_recall(video, video) == 1.0
    assert text_to_video_recall(np.ones((6, 4), np.float32), np.ones((6, 4), np.float32)) == 0.0  # ties lose
    shifted = np.roll(video, 1, axis=0)  # every caption's best match is its neighbour's clip
    assert text_to_video_recall(video, shifted) == 0.0
    assert text_to_video_recall(video, shifted, k=6) == 1.0


def test_bundle_embeddings_and_gate_exit_code(tiny_export: ExportedTiny, int8_bundle: Path) -> None:
    from training.data.synthetic.dataset import make_eval_set

    eval_set = make_eval_set("heldout", n=12, seed=0)
    fp32 = embed_with_bundle(tiny_export.bundle, eval_set.frames, eval_set.captions, batch=5)
    int8 = embed_with_bundle(int8_bundle, eval_set.frames, eval_set.captions, batch=5)
    for embeddings in (fp32, int8):
        assert embeddings.video.shape == embeddings.text.shape == (12, 96)
        np.testing.assert_allclose(np.linalg.norm(embeddings.video, axis=1), 1.0, atol=1e-4)
    # Random weights, 128 tokens a clip: int8 stays at cosine ~0.99 to fp32; accuracy is the gate's job.
    assert (fp32.video * int8.video).sum(axis=1).min() > 0.98
    args = ["--reference", str(tiny_export.bundle), "--candidate", str(int8_bundle), "--n", "12"]
    assert main(args) == 0  # a bundle against itself, or a faithful int8 copy, passes
    assert main([*args, "--max-drop", "-101"]) == 1  # an impossible bound fails
