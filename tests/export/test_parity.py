"""ONNX Runtime vs PyTorch on the same inputs (acceptance: max abs error <= 1e-4 at batch 1, 3, 8)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import numpy as np
import pytest
import torch

from tests.export.conftest import ExportedTiny
from tests.model.seeded import seeded_encoder
from training.export.bundle import BundleExportOptions, export_model_bundle
from training.export.inference_modules import prepare_for_export
from training.export.parity import FP32_TOLERANCE, check_bundle_parity, cpu_session, random_text_batch
from training.model import VideoEncoderConfig, VideoTextModel, build_model, presets
from videoprism_bundle.tensor_names import EMBEDDINGS, TOKENS


def test_fp32_bundle_matches_pytorch_at_batch_1_3_8(tiny_export: ExportedTiny) -> None:
    results = check_bundle_parity(tiny_export.model, tiny_export.bundle, batch_sizes=(1, 3, 8))
    seen = {(r.graph, r.batch) for r in results}
    assert seen == {(g, b) for g in ("video", "text") for b in (1, 3, 8)}
    for result in results:
        assert result.max_abs_error <= FP32_TOLERANCE, result


def test_text_graph_ignores_what_sits_under_padding(tiny_export: ExportedTiny) -> None:
    """Padded positions must not leak into the class token: only the real ids may matter."""
    session = cpu_session(tiny_export.bundle / "text_encoder.onnx")
    ids, paddings = random_text_batch(4, 24, 512, np.random.default_rng(3))
    paddings[:, 5:] = 1.0
    other = ids.copy()
    other[:, 5:] = 7  # different garbage under the padding
    a = session.run([EMBEDDINGS], {"input_ids": ids, "paddings": paddings})[0]
    b = session.run([EMBEDDINGS], {"input_ids": other, "paddings": paddings})[0]
    np.testing.assert_allclose(a, b, atol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(a, axis=1), 1.0, atol=1e-5)


def test_inference_rewrites_match_training_modules_with_masks() -> None:
    """The rewritten blocks against the originals, including the padded/causal text path."""
    torch.manual_seed(0)
    model = build_model(presets["tiny"]).eval()
    assert isinstance(model, VideoTextModel)
    fast = prepare_for_export(model)
    frames = torch.rand(2, 8, 64, 64, 3)
    ids, paddings = (torch.from_numpy(a) for a in random_text_batch(5, 24, 512, np.random.default_rng(0)))
    with torch.no_grad():
        torch.testing.assert_close(fast.encode_video(frames), model.encode_video(frames), atol=1e-5, rtol=0)
        torch.testing.assert_close(
            fast.encode_text(ids, paddings), model.encode_text(ids, paddings), atol=1e-5, rtol=0
        )
    # The copy is independent: the training model keeps its own modules.
    assert type(model.auxiliary_encoder).__name__ == "StackedTransformer"


def test_video_only_bundle_outputs_tokens_and_their_normalized_mean(tmp_path: Path) -> None:
    config = VideoEncoderConfig(
        patch_size=8, pos_grid=4, num_frames=4, image_size=32, width=64, num_heads=2, mlp_dim=128,
        num_spatial_layers=2, num_temporal_layers=1,
    )  # fmt: skip
    encoder = seeded_encoder(config)
    manifest = export_model_bundle(
        encoder,
        tmp_path / "bundle",
        tokenizer_file=None,
        source_checkpoint="test",
        model_name="video-only",
        options=BundleExportOptions(with_tokens=True, num_frames=6, image_size=48),
    )
    assert manifest.text is None and manifest.text_encoder is None
    assert manifest.video_pooling == "token_mean"
    assert [o.name for o in manifest.video_encoder.outputs] == [EMBEDDINGS, TOKENS]
    assert manifest.video_encoder.outputs[1].shape == ["batch", 6 * 36, 64]
    results = check_bundle_parity(encoder, tmp_path / "bundle", batch_sizes=(1, 3))
    assert {r.output for r in results} == {EMBEDDINGS, TOKENS}
    for result in results:
        assert result.max_abs_error <= FP32_TOLERANCE, result


def test_export_refuses_a_text_model_without_tokenizer(tmp_path: Path) -> None:
    model = build_model(presets["tiny"])
    with pytest.raises(ValueError, match="tokenizer"):
        export_model_bundle(model, tmp_path / "b", tokenizer_file=None, source_checkpoint="x", model_name="x")
    assert not (tmp_path / "b").exists()


@pytest.mark.parametrize(("stem", "stem_frames"), [("conv", 1), ("conv4", 1), ("conv", 3)])
def test_conv_patch_stem_exports_and_matches_pytorch(
    tmp_path: Path, stem: Literal["conv", "conv4"], stem_frames: int
) -> None:
    config = VideoEncoderConfig(
        patch_size=8, pos_grid=4, num_frames=4, image_size=32, width=64, num_heads=2, mlp_dim=128,
        num_spatial_layers=1, num_temporal_layers=1, patch_stem=stem, stem_frames=stem_frames,
    )  # fmt: skip
    encoder = seeded_encoder(config)
    export_model_bundle(
        encoder,
        tmp_path / "bundle",
        tokenizer_file=None,
        source_checkpoint="test",
        model_name=f"{stem}-stem",
        options=BundleExportOptions(with_tokens=True),
    )
    results = check_bundle_parity(encoder, tmp_path / "bundle", batch_sizes=(1, 3))
    assert {r.output for r in results} == {EMBEDDINGS, TOKENS}
    for result in results:
        assert result.max_abs_error <= FP32_TOLERANCE, result
