"""The converted official parity model, exported, still matches the official outputs through ONNX Runtime.

Uses fixture A of the conversion issue (official JAX outputs on perturbed random weights). Skipped where
/work/shared is not mounted.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.conftest import SHARED
from training.export.bundle import BundleExportOptions, export_model_bundle
from training.export.demo_tokenizer import train_tokenizer
from training.export.parity import cpu_session

FIXTURE = SHARED / "videoprism" / "parity_a"
TOLERANCE = 1e-4

pytestmark = pytest.mark.skipif(
    not (FIXTURE / "params_lvt.npz").is_file(), reason=f"official parity fixture not found at {FIXTURE}"
)


def _official(name: str) -> np.ndarray:
    return np.load(FIXTURE / f"out__{name}.npy")


@pytest.fixture(scope="module")
def bundles(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    from training.convert import load_official

    root = tmp_path_factory.mktemp("official")
    tokenizer = train_tokenizer(root / "tokenizer.model", vocab_size=100)  # ids below come from the fixture
    overrides: dict[str, Any] = {"text.max_length": 8}  # the fixture's text length
    lvt = load_official(FIXTURE / "params_lvt.npz", None, **overrides)
    video = load_official(FIXTURE / "params_video_encoder.npz")
    out = {
        "lvt": export_model_bundle(lvt, root / "lvt", tokenizer_file=tokenizer, source_checkpoint="fixture A",
                                   model_name="parity-a-lvt", options=BundleExportOptions()),
        "video": export_model_bundle(video, root / "video", tokenizer_file=None, source_checkpoint="fixture A",
                                     model_name="parity-a-video", options=BundleExportOptions(with_tokens=True)),
    }  # fmt: skip
    return {name: root / name for name in out}


def _check_video(bundle: Path, clip: str) -> None:
    frames = np.load(FIXTURE / f"{clip}.npy")
    (embeddings,) = cpu_session(bundle / "video_encoder.onnx").run(["embeddings"], {"frames": frames})
    assert np.abs(embeddings - _official(f"lvt__{clip}__video_embeddings")).max() <= TOLERANCE


def test_lvt_video_embeddings_match_official(bundles: dict[str, Path]) -> None:
    _check_video(bundles["lvt"], "video_input")


@pytest.mark.slow
def test_lvt_interpolated_clip_matches_official(tmp_path: Path) -> None:
    """A bundle for 6 frames of 48x48 (position tables resized at export) against the official resize."""
    from training.convert import load_official

    overrides: dict[str, Any] = {"text.max_length": 8}
    lvt = load_official(FIXTURE / "params_lvt.npz", None, **overrides)
    tokenizer = train_tokenizer(tmp_path / "tokenizer.model", vocab_size=100)
    options = BundleExportOptions(num_frames=6, image_size=48)
    export_model_bundle(lvt, tmp_path / "b", tokenizer_file=tokenizer, source_checkpoint="fixture A",
                        model_name="parity-a-lvt", options=options)  # fmt: skip
    _check_video(tmp_path / "b", "video_input_interp")


def test_lvt_text_embeddings_match_official(bundles: dict[str, Path]) -> None:
    ids = np.load(FIXTURE / "text_token_ids.npy").astype(np.int64)
    paddings = np.load(FIXTURE / "text_paddings.npy").astype(np.float32)
    session = cpu_session(bundles["lvt"] / "text_encoder.onnx")
    (embeddings,) = session.run(["embeddings"], {"input_ids": ids, "paddings": paddings})
    assert np.abs(embeddings - _official("lvt__text_embeddings")).max() <= TOLERANCE


def test_video_encoder_tokens_match_official(bundles: dict[str, Path]) -> None:
    frames = np.load(FIXTURE / "video_input.npy")
    session = cpu_session(bundles["video"] / "video_encoder.onnx")
    embeddings, tokens = session.run(["embeddings", "tokens"], {"frames": frames})
    official = _official("video_encoder__video_input__embeddings")  # the official encoder's tokens
    assert np.abs(tokens - official).max() <= TOLERANCE
    mean = official.mean(axis=1)
    np.testing.assert_allclose(embeddings, mean / np.linalg.norm(mean, axis=1, keepdims=True), atol=TOLERANCE)


def test_lvt_converted_without_tokenizer_exports_a_video_only_bundle(tmp_path: Path) -> None:
    """Official LvT checkpoints come without their (unavailable) tokenizer: convert, export, serve video."""
    from training.convert import convert_official
    from training.export.bundle import export_bundle
    from videoprism_bundle.loader import load_bundle

    checkpoint = tmp_path / "ckpt"
    convert_official(FIXTURE / "params_lvt.npz", checkpoint, preset=None, overrides={}, tokenizer=None)
    manifest = export_bundle(checkpoint, tmp_path / "bundle")
    assert manifest.text is None and manifest.text_encoder is None
    assert manifest.video_pooling == "attention_pooler"
    assert not (tmp_path / "bundle" / "text_encoder.onnx").exists()
    assert load_bundle(tmp_path / "bundle").manifest.bundle_id == manifest.bundle_id
    _check_video(tmp_path / "bundle", "video_input")
