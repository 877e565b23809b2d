"""ONNX Runtime vs PyTorch on the same random inputs: the check behind `export --verify` and the tests."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch

from service.bundle.manifest import BundleManifest
from training.export.graphs import EMBEDDINGS, TOKENS, VIDEO_INPUT
from training.export.manifest_io import read_manifest
from training.model import VideoEncoder, VideoTextModel, l2_normalize

FP32_TOLERANCE = 1e-4


@dataclass(frozen=True)
class ParityResult:
    """Max abs error of one output at one batch size."""

    graph: str  # "video" or "text"
    output: str
    batch: int
    max_abs_error: float


def cpu_session(path: Path, threads: int = 2) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def random_text_batch(
    batch: int, length: int, vocab: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Right-padded ids/paddings with lengths spread over 1..length (row 0 always full, as a real batch)."""
    ids = rng.integers(1, vocab, size=(batch, length), dtype=np.int64)
    lengths = rng.integers(1, length + 1, size=batch)
    lengths[0] = length
    paddings = (np.arange(length)[None, :] >= lengths[:, None]).astype(np.float32)
    ids[paddings > 0] = 0
    return ids, paddings


def reference_video(model: VideoEncoder | VideoTextModel, frames: np.ndarray) -> dict[str, np.ndarray]:
    """What the bundle's video graph must output, computed by the unmodified training model."""
    x = torch.from_numpy(frames)
    with torch.no_grad():
        if isinstance(model, VideoTextModel):
            tokens = model.vision_encoder(x)
            embeddings = model.encode_video(x)
        else:
            tokens = model(x)
            embeddings = l2_normalize(tokens.mean(dim=1))
    return {EMBEDDINGS: embeddings.numpy(), TOKENS: tokens.numpy()}


def check_bundle_parity(
    model: VideoEncoder | VideoTextModel,
    bundle_dir: Path,
    batch_sizes: tuple[int, ...] = (1, 3, 8),
    seed: int = 0,
) -> list[ParityResult]:
    """Run every graph of the bundle and the model on the same inputs; one result per output and batch."""
    manifest: BundleManifest = read_manifest(bundle_dir)
    rng = np.random.default_rng(seed)
    results: list[ParityResult] = []
    video = cpu_session(bundle_dir / manifest.video_encoder.file)
    output_names = [o.name for o in manifest.video_encoder.outputs]
    t, s = manifest.video.num_frames, manifest.video.image_size
    for batch in batch_sizes:
        frames = rng.random((batch, t, s, s, 3), dtype=np.float32)
        outputs = dict(zip(output_names, video.run(output_names, {VIDEO_INPUT: frames}), strict=True))
        expected = reference_video(model, frames)
        for name, value in outputs.items():
            error = float(np.abs(value.astype(np.float32) - expected[name]).max())
            results.append(ParityResult("video", name, batch, error))
    if manifest.text_encoder is not None and manifest.text is not None:
        assert isinstance(model, VideoTextModel)
        text = cpu_session(bundle_dir / manifest.text_encoder.file)
        for batch in batch_sizes:
            ids, paddings = random_text_batch(
                batch, manifest.text.max_length, model.config.text.vocab_size, rng
            )
            (embeddings,) = text.run([EMBEDDINGS], {"input_ids": ids, "paddings": paddings})
            with torch.no_grad():
                reference = model.encode_text(torch.from_numpy(ids), torch.from_numpy(paddings)).numpy()
            error = float(np.abs(embeddings.astype(np.float32) - reference).max())
            results.append(ParityResult("text", EMBEDDINGS, batch, error))
    return results
