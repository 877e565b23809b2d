from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.core.bundle_factory import build_tiny_bundle
from videoprism_bundle.errors import BundleError
from videoprism_bundle.loader import load_bundle


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_bundle(tmp_path_factory.mktemp("pristine"))


@pytest.fixture
def bundle_dir(pristine: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(pristine, tmp_path / "bundle"))


def _edit_manifest(bundle_dir: Path, edit: dict[str, object]) -> None:
    path = bundle_dir / "manifest.json"
    manifest = json.loads(path.read_text())
    manifest.update(edit)
    path.write_text(json.dumps(manifest))


def test_valid_bundle_loads_with_paths_and_stable_id(bundle_dir: Path, pristine: Path) -> None:
    bundle = load_bundle(bundle_dir)
    assert bundle.video_encoder == bundle_dir / "video_encoder.onnx"
    assert bundle.text_encoder == bundle_dir / "text_encoder.onnx"
    assert bundle.tokenizer == bundle_dir / "tokenizer.model"
    assert bundle.bundle_id == load_bundle(pristine).bundle_id
    assert len(bundle.bundle_id) == 16


def test_wrong_hash_names_the_file(bundle_dir: Path) -> None:
    with (bundle_dir / "text_encoder.onnx").open("ab") as handle:
        handle.write(b"\0")
    with pytest.raises(BundleError, match=r"text_encoder\.onnx: sha256 mismatch") as info:
        load_bundle(bundle_dir)
    assert info.value.file == "text_encoder.onnx"


def test_missing_file_names_the_file(bundle_dir: Path) -> None:
    (bundle_dir / "tokenizer.model").unlink()
    with pytest.raises(BundleError, match=r"tokenizer\.model: missing"):
        load_bundle(bundle_dir)


def test_missing_manifest(bundle_dir: Path) -> None:
    (bundle_dir / "manifest.json").unlink()
    with pytest.raises(BundleError, match=r"manifest\.json: missing"):
        load_bundle(bundle_dir)


def test_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(BundleError, match="does not exist"):
        load_bundle(tmp_path / "nope")


def test_unknown_schema_version(bundle_dir: Path) -> None:
    _edit_manifest(bundle_dir, {"schema_version": 99})
    with pytest.raises(BundleError, match=r"unknown schema version 99 \(this service reads 1\)"):
        load_bundle(bundle_dir)


def test_malformed_json(bundle_dir: Path) -> None:
    (bundle_dir / "manifest.json").write_text('{"schema_version": 1,')
    with pytest.raises(BundleError, match=r"manifest\.json: malformed JSON"):
        load_bundle(bundle_dir)


def test_manifest_failing_validation(bundle_dir: Path) -> None:
    _edit_manifest(bundle_dir, {"embedding_dim": -3})
    with pytest.raises(BundleError, match=r"(?s)manifest\.json: invalid manifest.*embedding_dim"):
        load_bundle(bundle_dir)


def test_input_name_mismatch_against_the_onnx_graph(bundle_dir: Path) -> None:
    manifest = json.loads((bundle_dir / "manifest.json").read_text())
    manifest["text_encoder"]["inputs"][1]["name"] = "attention_mask"
    (bundle_dir / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(
        BundleError, match=r"text_encoder\.onnx: manifest does not declare the required input 'paddings'"
    ):
        load_bundle(bundle_dir)


def test_output_dtype_mismatch_against_the_onnx_graph(bundle_dir: Path) -> None:
    manifest = json.loads((bundle_dir / "manifest.json").read_text())
    manifest["video_encoder"]["outputs"][0]["dtype"] = "float16"
    (bundle_dir / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(
        BundleError, match=r"output 'embeddings' is float32 in the graph, float16 in the manifest"
    ):
        load_bundle(bundle_dir)


def test_extra_graph_output_not_in_manifest(bundle_dir: Path) -> None:
    manifest = json.loads((bundle_dir / "manifest.json").read_text())
    manifest["video_encoder"]["outputs"].append(
        {"name": "tokens", "dtype": "float32", "shape": ["batch", 8, 16]}
    )
    (bundle_dir / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(BundleError, match=r"output names differ"):
        load_bundle(bundle_dir)


def test_file_referenced_but_not_hashed(bundle_dir: Path) -> None:
    manifest = json.loads((bundle_dir / "manifest.json").read_text())
    del manifest["files_sha256"]["tokenizer.model"]
    (bundle_dir / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(BundleError, match=r"tokenizer\.model: referenced by the manifest but has no entry"):
        load_bundle(bundle_dir)


def test_path_escaping_the_bundle_is_refused(bundle_dir: Path) -> None:
    manifest = json.loads((bundle_dir / "manifest.json").read_text())
    manifest["files_sha256"]["../outside.bin"] = "0" * 64
    (bundle_dir / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(BundleError, match=r"escapes the bundle directory"):
        load_bundle(bundle_dir)


def test_non_onnx_file_with_a_correct_hash(bundle_dir: Path) -> None:
    import hashlib

    (bundle_dir / "video_encoder.onnx").write_bytes(b"not a model")
    manifest = json.loads((bundle_dir / "manifest.json").read_text())
    manifest["files_sha256"]["video_encoder.onnx"] = hashlib.sha256(b"not a model").hexdigest()
    (bundle_dir / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(BundleError, match=r"video_encoder\.onnx: not a readable ONNX model"):
        load_bundle(bundle_dir)
