"""Convert and export publish files other users can read (0644): a server in a container usually runs as
another user than the one who exported."""

from __future__ import annotations

import stat
from pathlib import Path

from tests.export.conftest import ExportedTiny
from training.export.derive import derive_bundle


def _modes(root: Path) -> dict[str, int]:
    return {str(p.relative_to(root)): stat.S_IMODE(p.stat().st_mode) for p in root.rglob("*") if p.is_file()}


def test_exported_and_derived_bundles_are_readable_by_everyone(
    tiny_export: ExportedTiny, tmp_path: Path
) -> None:
    modes = _modes(tiny_export.bundle)
    assert "manifest.json" in modes and "video_encoder.onnx" in modes
    assert set(modes.values()) == {0o644}, modes
    int8 = tmp_path / "int8"
    derive_bundle(tiny_export.bundle, int8, "int8")
    assert set(_modes(int8).values()) == {0o644}
    assert stat.S_IMODE(int8.stat().st_mode) & 0o055 == 0o055  # others may list the directory


def test_the_manifest_carries_the_video_encoders_flops(tiny_export: ExportedTiny) -> None:
    from videoprism_bundle.loader import load_bundle

    gflops = load_bundle(tiny_export.bundle).manifest.video_gflops_per_clip
    assert gflops is not None and 0 < gflops < 20  # the tiny model is "small" for the parallelism choice
