"""build-engine without a GPU: the CPU-side logic (profile shapes, manifest update) and the refusal."""

from __future__ import annotations

import ctypes
import shutil
from pathlib import Path

import pytest

from tests.export.conftest import ExportedTiny
from training.cli import main as cli_main
from training.export.manifest_io import read_manifest
from training.export.tensorrt_engine import (
    EngineBuildConfig,
    GpuInfo,
    engine_file_names,
    profile_shapes,
    record_engines,
)
from videoprism_bundle.loader import load_bundle
from videoprism_bundle.manifest import OnnxModelSpec, TensorRTEngineSpec, TensorSpec


def test_profile_shapes_come_from_the_manifest(tiny_export: ExportedTiny) -> None:
    manifest = read_manifest(tiny_export.bundle)
    config = EngineBuildConfig(min_batch=1, opt_batch=8, max_batch=32)
    assert profile_shapes(manifest.video_encoder, config) == {
        "frames": ((1, 8, 64, 64, 3), (8, 8, 64, 64, 3), (32, 8, 64, 64, 3))
    }
    assert manifest.text_encoder is not None
    assert profile_shapes(manifest.text_encoder, config) == {
        "input_ids": ((1, 24), (8, 24), (32, 24)),
        "paddings": ((1, 24), (8, 24), (32, 24)),
    }


def test_profile_rejects_bad_batches_and_non_batch_dynamic_axes() -> None:
    with pytest.raises(ValueError, match="min_batch <= opt_batch"):
        EngineBuildConfig(min_batch=4, opt_batch=2, max_batch=8)
    with pytest.raises(ValueError, match="min_batch"):
        EngineBuildConfig(min_batch=0)
    spec = OnnxModelSpec(
        file="x.onnx",
        inputs=[TensorSpec(name="frames", dtype="float32", shape=["batch", "frames", 64, 64, 3])],
        outputs=[],
    )
    with pytest.raises(ValueError, match="axis 1 is dynamic"):
        profile_shapes(spec, EngineBuildConfig())


def _engine(file: str, cache: str, source: str = "video_encoder", opt: int = 8) -> TensorRTEngineSpec:
    return TensorRTEngineSpec(
        file=file, source=source, fp16=True, min_batch=1, opt_batch=opt, max_batch=32,  # type: ignore[arg-type]
        timing_cache=cache, tensorrt_version="10.0", gpu_name="Test GPU", compute_capability="9.0",
    )  # fmt: skip


def test_record_engines_hashes_new_files_and_replaces_same_gpu_engines(
    tiny_export: ExportedTiny, tmp_path: Path
) -> None:
    bundle = tmp_path / "bundle"
    shutil.copytree(tiny_export.bundle, bundle)
    gpu = GpuInfo(name="Test GPU", compute_capability="9.0")
    engine_name, cache_name = engine_file_names("video_encoder", gpu, fp16=True)
    assert (engine_name, cache_name) == ("video_encoder.sm90.fp16.engine", "tensorrt_timing.sm90.cache")
    (bundle / engine_name).write_bytes(b"engine v1")
    (bundle / cache_name).write_bytes(b"cache v1")
    first = record_engines(bundle, read_manifest(bundle), [_engine(engine_name, cache_name)])
    assert {engine_name, cache_name} <= set(first.files_sha256)
    assert load_bundle(bundle).manifest.tensorrt_engines == first.tensorrt_engines  # hashes verify

    (bundle / engine_name).write_bytes(b"engine v2")  # a rebuild for the same GPU class replaces the entry
    (bundle / cache_name).write_bytes(b"cache v2")
    second = record_engines(bundle, read_manifest(bundle), [_engine(engine_name, cache_name, opt=16)])
    assert [e.opt_batch for e in second.tensorrt_engines] == [16]
    assert second.files_sha256[engine_name] != first.files_sha256[engine_name]
    assert load_bundle(bundle).manifest == second
    for name in ("video_encoder.onnx", "text_encoder.onnx", "tokenizer.model"):
        assert second.files_sha256[name] == first.files_sha256[name]


def _has_nvidia_driver() -> bool:
    try:
        ctypes.CDLL("libcuda.so.1")
    except OSError:
        return False
    return True


@pytest.mark.skipif(_has_nvidia_driver(), reason="this machine has an NVIDIA driver")
def test_build_engine_without_gpu_exits_non_zero_and_says_why(
    tiny_export: ExportedTiny, capsys: pytest.CaptureFixture[str]
) -> None:
    before = (tiny_export.bundle / "manifest.json").read_bytes()
    code = cli_main(
        [
            "build-engine",
            str(tiny_export.bundle),
            "--fp16",
            "--min-batch",
            "1",
            "--opt-batch",
            "8",
            "--max-batch",
            "32",
        ]
    )
    assert code == 3
    assert "cannot build TensorRT engines on this machine" in capsys.readouterr().out
    assert (tiny_export.bundle / "manifest.json").read_bytes() == before


def test_build_engine_rejects_bad_arguments(
    tiny_export: ExportedTiny, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli_main(["build-engine", str(tiny_export.bundle), "--opt-batch", "64", "--max-batch", "32"]) == 2
    assert "min_batch <= opt_batch <= max_batch" in capsys.readouterr().out
