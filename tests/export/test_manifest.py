"""The written manifest: schema-valid, hashes equal to the files, specs equal to the graphs, loader-accepted."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import onnx

from tests.export.conftest import ExportedTiny
from training.checkpoint import WEIGHTS_NAME
from videoprism_bundle.loader import load_bundle
from videoprism_bundle.manifest import MANIFEST_NAME, SCHEMA_VERSION, BundleManifest


def test_manifest_validates_and_hashes_every_file(tiny_export: ExportedTiny) -> None:
    text = (tiny_export.bundle / MANIFEST_NAME).read_text()
    manifest = BundleManifest.model_validate_json(text)
    on_disk = sorted(p.name for p in tiny_export.bundle.iterdir() if p.name != MANIFEST_NAME)
    assert (
        sorted(manifest.files_sha256)
        == on_disk
        == ["text_encoder.onnx", "tokenizer.model", "video_encoder.onnx"]
    )
    for name, digest in manifest.files_sha256.items():
        assert hashlib.sha256((tiny_export.bundle / name).read_bytes()).hexdigest() == digest
    assert load_bundle(tiny_export.bundle).manifest == manifest


def test_manifest_describes_the_model_and_its_graphs(tiny_export: ExportedTiny) -> None:
    manifest = BundleManifest.model_validate_json((tiny_export.bundle / MANIFEST_NAME).read_text())
    assert manifest.schema_version == SCHEMA_VERSION
    assert (manifest.model_name, manifest.precision, manifest.embedding_dim) == ("tiny-test", "fp32", 96)
    assert (manifest.video.num_frames, manifest.video.image_size, manifest.video.value_range) == (
        8,
        64,
        (0.0, 1.0),
    )
    assert manifest.text is not None and (manifest.text.max_length, manifest.text.pad_id) == (24, 0)
    assert manifest.video_pooling == "attention_pooler"
    weights = hashlib.sha256((tiny_export.checkpoint / WEIGHTS_NAME).read_bytes()).hexdigest()
    assert weights in manifest.source_checkpoint
    video = manifest.video_encoder
    assert [(t.name, t.dtype, t.shape) for t in video.inputs] == [
        ("frames", "float32", ["batch", 8, 64, 64, 3])
    ]
    assert [(t.name, t.dtype, t.shape) for t in video.outputs] == [("embeddings", "float32", ["batch", 96])]
    assert manifest.text_encoder is not None
    assert [(t.name, t.dtype, t.shape) for t in manifest.text_encoder.inputs] == [
        ("input_ids", "int64", ["batch", 24]),
        ("paddings", "float32", ["batch", 24]),
    ]
    graph = onnx.load(str(tiny_export.bundle / video.file), load_external_data=False)
    assert max(o.version for o in graph.opset_import if o.domain in ("", "ai.onnx")) == manifest.opset >= 17
    # Exporter debug metadata (absolute source paths) must not reach the bundle.
    assert not any(node.metadata_props for node in graph.graph.node)


def test_reexport_replaces_the_previous_bundle_files_only(tmp_path: Path) -> None:
    """Publishing into an existing bundle removes its old files but leaves unrelated ones alone."""
    from training.export.bundle import publish

    out = tmp_path / "bundle"
    out.mkdir()
    (out / "stale.engine").write_bytes(b"old")
    (out / "notes.txt").write_text("mine")
    (out / MANIFEST_NAME).write_text(json.dumps({"files_sha256": {"stale.engine": "0" * 64}}))
    stage = tmp_path / "stage"
    stage.mkdir()
    (stage / "video_encoder.onnx").write_bytes(b"new")
    (stage / MANIFEST_NAME).write_text("{}")
    publish(stage, out)
    assert sorted(p.name for p in out.iterdir()) == [MANIFEST_NAME, "notes.txt", "video_encoder.onnx"]
