"""A precision variant of an existing fp32 bundle, without re-exporting from PyTorch (seconds, not minutes)."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from training.export.bundle import publish, staging_parent
from training.export.manifest_io import hash_bundle_files, onnx_model_spec, read_manifest, write_manifest
from training.export.precision import Precision, convert_precision
from videoprism_bundle.manifest import BundleManifest


def derive_bundle(fp32_dir: str | Path, out_dir: str | Path, precision: Precision) -> BundleManifest:
    """Convert every graph of the fp32 bundle at `fp32_dir` to `precision` into `out_dir` (engines dropped:
    they belong to the fp32 graphs)."""
    source, out = Path(fp32_dir), Path(out_dir)
    manifest = read_manifest(source)
    if manifest.precision != "fp32":
        raise ValueError(f"{source}: derive from an fp32 bundle, this one is {manifest.precision}")
    with tempfile.TemporaryDirectory(prefix=".bundle-", dir=staging_parent(out)) as tmp:
        stage = Path(tmp)
        graphs = [manifest.video_encoder] + ([manifest.text_encoder] if manifest.text_encoder else [])
        for graph in graphs:
            convert_precision(source / graph.file, stage / graph.file, precision)
        if manifest.text is not None:
            shutil.copyfile(source / manifest.text.tokenizer_file, stage / manifest.text.tokenizer_file)
        derived = manifest.model_copy(
            update={
                "precision": precision,
                "video_encoder": onnx_model_spec(stage, manifest.video_encoder.file),
                "text_encoder": onnx_model_spec(stage, manifest.text_encoder.file)
                if manifest.text_encoder
                else None,
                "tensorrt_engines": [],
                "files_sha256": hash_bundle_files(stage),
            }
        )
        write_manifest(stage, BundleManifest.model_validate(derived.model_dump()))
        publish(stage, out)
    return read_manifest(out)
