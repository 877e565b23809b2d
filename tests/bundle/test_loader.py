from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

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


@contextmanager
def _manifest(bundle_dir: Path) -> Iterator[dict[str, Any]]:
    """The bundle's manifest to edit in place; written back when the block ends."""
    path = bundle_dir / "manifest.json"
    manifest = json.loads(path.read_text())
    yield manifest
    path.write_text(json.dumps(manifest))


def _refused(bundle_dir: Path, match: str) -> BundleError:
    """The error with which loading the bundle fails; its message must match `match`."""
    with pytest.raises(BundleError, match=match) as info:
        load_bundle(bundle_dir)
    return info.value


def _edit_manifest(bundle_dir: Path, edit: dict[str, object]) -> None:
    with _manifest(bundle_dir) as manifest:
        manifest.update(edit)


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
    assert _refused(bundle_dir, r"text_encoder\.onnx: sha256 mismatch").file == "text_encoder.onnx"


def test_missing_file_names_the_file(bundle_dir: Path) -> None:
    (bundle_dir / "tokenizer.model").unlink()
    _refused(bundle_dir, r"tokenizer\.model: missing")


def test_missing_manifest(bundle_dir: Path) -> None:
    (bundle_dir / "manifest.json").unlink()
    _refused(bundle_dir, r"manifest\.json: missing")


def test_missing_directory(tmp_path: Path) -> None:
    _refused(tmp_path / "nope", "does not exist")


def test_unknown_schema_version(bundle_dir: Path) -> None:
    _edit_manifest(bundle_dir, {"schema_version": 99})
    _refused(bundle_dir, r"unknown schema version 99 \(this service reads 1\)")


def test_malformed_json(bundle_dir: Path) -> None:
    (bundle_dir / "manifest.json").write_text('{"schema_version": 1,')
    _refused(bundle_dir, r"manifest\.json: malformed JSON")


def test_manifest_failing_validation(bundle_dir: Path) -> None:
    _edit_manifest(bundle_dir, {"embedding_dim": -3})
    _refused(bundle_dir, r"(?s)manifest\.json: invalid manifest.*embedding_dim")


def test_input_name_mismatch_against_the_onnx_graph(bundle_dir: Path) -> None:
    with _manifest(bundle_dir) as manifest:
        manifest["text_encoder"]["inputs"][1]["name"] = "attention_mask"
    _refused(bundle_dir, r"text_encoder\.onnx: manifest does not declare the required input 'paddings'")


def test_output_dtype_mismatch_against_the_onnx_graph(bundle_dir: Path) -> None:
    with _manifest(bundle_dir) as manifest:
        manifest["video_encoder"]["outputs"][0]["dtype"] = "float16"
    _refused(bundle_dir, r"output 'embeddings' is float32 in the graph, float16 in the manifest")


def test_extra_graph_output_not_in_manifest(bundle_dir: Path) -> None:
    with _manifest(bundle_dir) as manifest:
        manifest["video_encoder"]["outputs"].append(
            {"name": "tokens", "dtype": "float32", "shape": ["batch", 8, 16]}
        )
    _refused(bundle_dir, r"output names differ")


def test_file_referenced_but_not_hashed(bundle_dir: Path) -> None:
    with _manifest(bundle_dir) as manifest:
        del manifest["files_sha256"]["tokenizer.model"]
    _refused(bundle_dir, r"tokenizer\.model: referenced by the manifest but has no entry")


def test_path_escaping_the_bundle_is_refused(bundle_dir: Path) -> None:
    with _manifest(bundle_dir) as manifest:
        manifest["files_sha256"]["../outside.bin"] = "0" * 64
    _refused(bundle_dir, r"escapes the bundle directory")


def test_non_onnx_file_with_a_correct_hash(bundle_dir: Path) -> None:
    import hashlib

    (bundle_dir / "video_encoder.onnx").write_bytes(b"not a model")
    with _manifest(bundle_dir) as manifest:
        manifest["files_sha256"]["video_encoder.onnx"] = hashlib.sha256(b"not a model").hexdigest()
    _refused(bundle_dir, r"video_encoder\.onnx: not a readable ONNX model")
