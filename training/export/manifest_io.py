"""Writing `manifest.json`: tensor specs read off the ONNX graphs, and the sha256 of every bundle file.

Specs come from the saved graphs themselves (not from what the exporter was asked for), so the manifest
cannot disagree with the files the service will open.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import onnx

from videoprism_bundle.manifest import MANIFEST_NAME, BundleManifest, OnnxModelSpec, TensorSpec
from videoprism_bundle.onnx_dtypes import MANIFEST_DTYPES as _DTYPES

_CHUNK = 1 << 20


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _tensor_spec(value: onnx.ValueInfoProto) -> TensorSpec:
    tensor_type = value.type.tensor_type
    if tensor_type.elem_type not in _DTYPES:
        raise ValueError(f"{value.name}: ONNX element type {tensor_type.elem_type} has no manifest dtype")
    shape: list[int | str] = [d.dim_param if d.dim_param else int(d.dim_value) for d in tensor_type.shape.dim]
    dtype: Any = _DTYPES[tensor_type.elem_type]  # one of TensorSpec's dtype literals by construction
    return TensorSpec(name=value.name, dtype=dtype, shape=shape)


def onnx_model_spec(root: Path, relative: str) -> OnnxModelSpec:
    """The manifest entry of the ONNX file `root/relative`: its real (non-initializer) inputs and outputs."""
    model = onnx.load_model(str(root / relative), load_external_data=False)
    initializers = {init.name for init in model.graph.initializer}
    inputs = [_tensor_spec(v) for v in model.graph.input if v.name not in initializers]
    outputs = [_tensor_spec(v) for v in model.graph.output]
    return OnnxModelSpec(file=relative, inputs=inputs, outputs=outputs)


def hash_bundle_files(root: Path) -> dict[str, str]:
    """sha256 of every regular file under `root` except the manifest, keyed by POSIX relative path."""
    hashes: dict[str, str] = {}
    for path in sorted(root.rglob("*")):
        if path.is_file() and path.name != MANIFEST_NAME:
            hashes[path.relative_to(root).as_posix()] = sha256_file(path)
    return hashes


def write_manifest(root: Path, manifest: BundleManifest) -> Path:
    """Validate (round-trip through the schema) and write `root/manifest.json`."""
    text = manifest.model_dump_json(indent=2) + "\n"
    BundleManifest.model_validate_json(text)
    path = root / MANIFEST_NAME
    path.write_text(text, encoding="utf-8")
    return path


def read_manifest(root: Path) -> BundleManifest:
    return BundleManifest.model_validate_json((root / MANIFEST_NAME).read_text(encoding="utf-8"))
