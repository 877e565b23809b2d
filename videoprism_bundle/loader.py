"""Opens a bundle directory and proves it is complete and consistent before anything runs it.

Every failure raises `BundleError` naming the file and the problem: a service that starts on a half-copied
or mismatched bundle would serve wrong embeddings silently, which is worse than not starting.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import onnx
from pydantic import ValidationError

from videoprism_bundle.errors import BundleError
from videoprism_bundle.manifest import (
    MANIFEST_NAME,
    SCHEMA_VERSION,
    BundleManifest,
    OnnxModelSpec,
    TensorSpec,
)
from videoprism_bundle.onnx_dtypes import manifest_dtype
from videoprism_bundle.tensor_names import EMBEDDINGS, TEXT_INPUTS, VIDEO_INPUT

_HASH_CHUNK = 1 << 20


@dataclass(frozen=True)
class Bundle:
    """A verified bundle: the manifest plus absolute paths of the files the runtimes open."""

    root: Path
    manifest: BundleManifest
    video_encoder: Path
    text_encoder: Path | None
    tokenizer: Path | None

    @property
    def bundle_id(self) -> str:
        return self.manifest.bundle_id

    def path_of(self, relative: str) -> Path:
        return self.root / relative


def load_bundle(path: str | Path) -> Bundle:
    root = Path(path)
    if not root.is_dir():
        raise BundleError(str(root), "bundle directory does not exist")
    manifest = _read_manifest(root)
    _check_referenced_files_are_hashed(manifest)
    for relative, expected in sorted(manifest.files_sha256.items()):
        _verify_file(root, relative, expected)
    _check_onnx_io(root, manifest.video_encoder, required_inputs=(VIDEO_INPUT,))
    text_encoder = tokenizer = None
    if manifest.text_encoder is not None:
        if manifest.text is None:
            raise BundleError(MANIFEST_NAME, "text_encoder is set but the text spec is missing")
        _check_onnx_io(root, manifest.text_encoder, required_inputs=TEXT_INPUTS)
        text_encoder = root / manifest.text_encoder.file
        tokenizer = root / manifest.text.tokenizer_file
    return Bundle(
        root=root,
        manifest=manifest,
        video_encoder=root / manifest.video_encoder.file,
        text_encoder=text_encoder,
        tokenizer=tokenizer,
    )


def _read_manifest(root: Path) -> BundleManifest:
    manifest_path = root / MANIFEST_NAME
    if not manifest_path.is_file():
        raise BundleError(MANIFEST_NAME, "missing")
    try:
        raw: Any = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise BundleError(MANIFEST_NAME, f"malformed JSON ({exc})") from exc
    if not isinstance(raw, dict):
        raise BundleError(MANIFEST_NAME, "top level is not a JSON object")
    version = raw.get("schema_version")
    # Checked before full validation: a newer schema may fail validation in confusing ways.
    if version != SCHEMA_VERSION:
        raise BundleError(
            MANIFEST_NAME, f"unknown schema version {version!r} (this service reads {SCHEMA_VERSION})"
        )
    try:
        return BundleManifest.model_validate(raw)
    except ValidationError as exc:
        raise BundleError(MANIFEST_NAME, f"invalid manifest: {exc}") from exc


def _check_referenced_files_are_hashed(manifest: BundleManifest) -> None:
    referenced = [manifest.video_encoder.file]
    if manifest.text_encoder is not None:
        referenced.append(manifest.text_encoder.file)
    if manifest.text is not None:
        referenced.append(manifest.text.tokenizer_file)
    for engine in manifest.tensorrt_engines:
        referenced.append(engine.file)
        if engine.timing_cache:
            referenced.append(engine.timing_cache)
    for relative in referenced:
        if relative not in manifest.files_sha256:
            raise BundleError(relative, "referenced by the manifest but has no entry in files_sha256")


def _verify_file(root: Path, relative: str, expected_sha256: str) -> None:
    pure = PurePosixPath(relative)
    if pure.is_absolute() or ".." in pure.parts:
        raise BundleError(relative, "path escapes the bundle directory")
    file = root / relative
    if not file.is_file():
        raise BundleError(relative, "missing")
    digest = hashlib.sha256()
    with file.open("rb") as handle:
        while chunk := handle.read(_HASH_CHUNK):
            digest.update(chunk)
    actual = digest.hexdigest()
    if actual != expected_sha256.lower():
        raise BundleError(
            relative, f"sha256 mismatch (manifest {expected_sha256}, file {actual}): corrupt or replaced"
        )


def _check_onnx_io(root: Path, spec: OnnxModelSpec, *, required_inputs: tuple[str, ...]) -> None:
    try:
        # Weights stored as external data are not needed to read the graph signature.
        model = onnx.load(str(root / spec.file), load_external_data=False)
    except Exception as exc:
        raise BundleError(spec.file, f"not a readable ONNX model ({exc})") from exc
    initializers = {init.name for init in model.graph.initializer}
    graph_inputs = {v.name: v for v in model.graph.input if v.name not in initializers}
    graph_outputs = {v.name: v for v in model.graph.output}
    for name in required_inputs:
        if name not in {t.name for t in spec.inputs}:
            raise BundleError(spec.file, f"manifest does not declare the required input {name!r}")
    if EMBEDDINGS not in {t.name for t in spec.outputs}:
        raise BundleError(spec.file, f"manifest does not declare the required output {EMBEDDINGS!r}")
    _compare(spec.file, "input", spec.inputs, graph_inputs)
    _compare(spec.file, "output", spec.outputs, graph_outputs)


def _compare(
    file: str, role: str, declared: list[TensorSpec], actual: dict[str, onnx.ValueInfoProto]
) -> None:
    declared_names = {t.name for t in declared}
    if declared_names != set(actual):
        raise BundleError(
            file, f"{role} names differ: manifest {sorted(declared_names)}, ONNX graph {sorted(actual)}"
        )
    for tensor in declared:
        type_proto = actual[tensor.name].type.tensor_type
        dtype = manifest_dtype(type_proto.elem_type) or f"onnx-type-{type_proto.elem_type}"
        if dtype != tensor.dtype:
            raise BundleError(
                file, f"{role} {tensor.name!r} is {dtype} in the graph, {tensor.dtype} in the manifest"
            )
        rank = len(type_proto.shape.dim)
        if rank != len(tensor.shape):
            raise BundleError(
                file,
                f"{role} {tensor.name!r} has rank {rank} in the graph, {len(tensor.shape)} in the manifest",
            )
