"""Checkpoint (or in-memory model) -> bundle directory: ONNX graphs, tokenizer, manifest with hashes."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import sentencepiece as spm
import torch

from training.checkpoint import (
    WEIGHTS_NAME,
    load_model_checkpoint,
    read_checkpoint_config,
    tokenizer_path,
)
from training.export.file_modes import make_readable
from training.export.flops import gflops_per_clip
from training.export.graphs import TextEmbeddingGraph, VideoEmbeddingGraph
from training.export.inference_modules import prepare_for_export
from training.export.manifest_io import hash_bundle_files, onnx_model_spec, sha256_file, write_manifest
from training.export.onnx_export import OnnxExportConfig, export_to_onnx
from training.export.precision import Precision, convert_precision
from training.model import VideoEncoder, VideoTextModel
from videoprism_bundle.manifest import MANIFEST_NAME, SCHEMA_VERSION, BundleManifest, TextSpec, VideoSpec
from videoprism_bundle.tensor_names import EMBEDDINGS, TEXT_INPUTS, VIDEO_INPUT

VIDEO_FILE = "video_encoder.onnx"
TEXT_FILE = "text_encoder.onnx"
TOKENIZER_FILE = "tokenizer.model"
_EXAMPLE_BATCH = 2  # any batch >= 2 keeps the batch axis symbolic during export


@dataclass(frozen=True)
class BundleExportOptions:
    precision: Precision = "fp32"
    with_tokens: bool = False  # also output the encoder tokens [B, T*N, D] from video_encoder.onnx
    model_name: str | None = None  # None: the checkpoint's metadata "model_name", else its directory name
    model_version: str = "1"
    resize_mode: Literal["crop", "squash"] = "crop"
    # The bundle's fixed input clip; None = the model's native size. Other sizes interpolate the position
    # tables (frames: any count; image: a multiple of the patch size).
    num_frames: int | None = None
    image_size: int | None = None
    created_at: str | None = None  # ISO-8601; fixed by reproducible builds, None = now
    # Export the inference rewrites of training.export.inference_modules (same outputs, faster graph).
    inference_rewrites: bool = True
    onnx: OnnxExportConfig = field(default_factory=OnnxExportConfig)


def export_bundle(
    checkpoint_dir: str | Path, out_dir: str | Path, options: BundleExportOptions = BundleExportOptions()
) -> BundleManifest:
    """Export the checkpoint at `checkpoint_dir` (see training.checkpoint) into the bundle `out_dir`."""
    checkpoint = Path(checkpoint_dir)
    _, metadata = read_checkpoint_config(checkpoint)
    model = load_model_checkpoint(checkpoint)
    if options.inference_rewrites:
        # The loaded model is ours alone: rewriting it in place saves holding the weights twice.
        model = prepare_for_export(model, in_place=True)
        options = dataclasses.replace(options, inference_rewrites=False)
    name = options.model_name or str(metadata.get("model_name") or checkpoint.resolve().name)
    weights_hash = sha256_file(checkpoint / WEIGHTS_NAME)
    return export_model_bundle(
        model,
        out_dir,
        tokenizer_file=tokenizer_path(checkpoint),
        source_checkpoint=f"{checkpoint.resolve()} ({WEIGHTS_NAME} sha256 {weights_hash})",
        model_name=name,
        options=options,
        video_only=bool(metadata.get("video_only", False)),
    )


def export_bundle_in_child(
    checkpoint_dir: str | Path, out_dir: str | Path, options: BundleExportOptions = BundleExportOptions()
) -> BundleManifest:
    """`export_bundle` in a fresh process, for a caller that runs another memory-heavy step afterwards
    (`export --verify`): the exporting process keeps ~0.9 GiB of a full-size export mapped after the model
    is freed, which would sit under the verify step's own peak (issue 28). "spawn": a fork would share the
    caller's memory and threads."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(export_bundle, checkpoint_dir, out_dir, options).result()


def export_model_bundle(
    model: VideoEncoder | VideoTextModel,
    out_dir: str | Path,
    *,
    tokenizer_file: Path | None,
    source_checkpoint: str,
    model_name: str,
    options: BundleExportOptions = BundleExportOptions(),
    video_only: bool = False,
) -> BundleManifest:
    """Export an in-memory model. A model with a text tower needs its SentencePiece `tokenizer_file`,
    unless `video_only` (e.g. an official LvT checkpoint converted without the unavailable tokenizer):
    then only the video graph, with its pooler, is exported."""
    model = model.eval()
    graph_model = prepare_for_export(model) if options.inference_rewrites else model
    has_text = isinstance(model, VideoTextModel) and not (video_only and tokenizer_file is None)
    if has_text and tokenizer_file is None:
        raise ValueError(
            "the model has a text tower, so the bundle needs its tokenizer.model; none was given "
            "(convert with --tokenizer FILE.model, or mark the checkpoint video_only)"
        )
    video_config = model.config.video if isinstance(model, VideoTextModel) else model.config
    out = Path(out_dir)
    with tempfile.TemporaryDirectory(prefix=".bundle-", dir=staging_parent(out)) as tmp:
        stage = Path(tmp)
        video_graph = VideoEmbeddingGraph(graph_model, with_tokens=options.with_tokens)
        num_frames = options.num_frames or video_config.num_frames
        image_size = options.image_size or video_config.image_size
        if image_size % video_config.patch_size:
            raise ValueError(
                f"image_size {image_size} is not a multiple of the patch size {video_config.patch_size}"
            )
        generator = torch.Generator().manual_seed(0)
        frames = torch.rand(_EXAMPLE_BATCH, num_frames, image_size, image_size, 3, generator=generator)
        export_to_onnx(
            video_graph, (frames,), stage / VIDEO_FILE, [VIDEO_INPUT], video_graph.output_names, options.onnx
        )
        convert_precision(stage / VIDEO_FILE, stage / VIDEO_FILE, options.precision)
        gflops = gflops_per_clip(video_graph, frames)
        text_spec = None
        if has_text and isinstance(graph_model, VideoTextModel):
            assert tokenizer_file is not None
            text_spec = _write_text(graph_model, stage, tokenizer_file, options)
        files = hash_bundle_files(stage)
        manifest = BundleManifest(
            schema_version=SCHEMA_VERSION,
            model_name=model_name,
            model_version=options.model_version,
            embedding_dim=video_config.width,
            precision=options.precision,
            opset=options.onnx.opset,
            video=VideoSpec(
                num_frames=num_frames,
                image_size=image_size,
                resize_mode=options.resize_mode,
            ),
            text=text_spec,
            video_encoder=onnx_model_spec(stage, VIDEO_FILE),
            text_encoder=onnx_model_spec(stage, TEXT_FILE) if has_text else None,
            video_pooling=video_graph.pooling,  # type: ignore[arg-type]
            video_gflops_per_clip=gflops,
            files_sha256=files,
            source_checkpoint=source_checkpoint,
            created_at=options.created_at or _now(),
        )
        write_manifest(stage, manifest)
        publish(stage, out)
    return manifest


def _write_text(
    model: VideoTextModel, stage: Path, tokenizer_file: Path, options: BundleExportOptions
) -> TextSpec:
    text_config = model.config.text
    processor = spm.SentencePieceProcessor(model_file=str(tokenizer_file))
    if processor.GetPieceSize() > text_config.vocab_size:
        raise ValueError(
            f"{tokenizer_file}: {processor.GetPieceSize()} pieces do not fit the model's "
            f"{text_config.vocab_size} token embeddings"
        )
    # The official tokenizer pads with id 0; a tokenizer trained without a pad piece gets the same.
    pad_id = processor.pad_id() if processor.pad_id() >= 0 else 0
    length = text_config.max_length
    ids = torch.randint(
        1, processor.GetPieceSize(), (_EXAMPLE_BATCH, length), generator=torch.Generator().manual_seed(0)
    )
    paddings = torch.zeros(_EXAMPLE_BATCH, length)
    paddings[1, length // 2 :] = 1.0
    export_to_onnx(
        TextEmbeddingGraph(model), (ids, paddings), stage / TEXT_FILE, TEXT_INPUTS, [EMBEDDINGS], options.onnx
    )
    convert_precision(stage / TEXT_FILE, stage / TEXT_FILE, options.precision)
    shutil.copyfile(tokenizer_file, stage / TOKENIZER_FILE)
    return TextSpec(tokenizer_file=TOKENIZER_FILE, max_length=length, pad_id=pad_id)


def staging_parent(out: Path) -> Path:
    # Staging beside the destination keeps the final moves on one filesystem (renames, not copies).
    parent = out.resolve().parent
    parent.mkdir(parents=True, exist_ok=True)
    return parent


def publish(stage: Path, out: Path) -> None:
    """Move the staged bundle into `out`, replacing a previous bundle's files but nothing else."""
    if out.exists() and any(out.iterdir()) and not (out / MANIFEST_NAME).is_file():
        raise FileExistsError(f"{out} exists, is not empty and holds no bundle; refusing to write into it")
    out.mkdir(parents=True, exist_ok=True)
    if (out / MANIFEST_NAME).is_file():
        # Files of the previous bundle (an old engine, tokens-only graph...) must not linger unhashed.
        previous = json.loads((out / MANIFEST_NAME).read_text(encoding="utf-8")).get("files_sha256", {})
        for old in previous:
            target = (out / old).resolve()
            if out.resolve() in target.parents:  # a hostile manifest must not delete files elsewhere
                target.unlink(missing_ok=True)
        (out / MANIFEST_NAME).unlink()
    make_readable(stage)
    for path in sorted(stage.iterdir()):
        path.replace(out / path.name)


def _now() -> str:
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
