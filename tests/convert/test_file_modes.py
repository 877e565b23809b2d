"""A converted checkpoint is readable by other users (safetensors alone writes 0600)."""

from __future__ import annotations

import stat
from pathlib import Path

from tests.convert.test_converter import VIDEO
from training.convert import convert_official
from training.convert.synthetic import write_random_official
from training.convert.tree import official_tree


def test_converted_files_are_0644(tmp_path: Path) -> None:
    npz = write_random_official(tmp_path / "video.npz", official_tree(VIDEO), seed=0)
    out = convert_official(npz, tmp_path / "ckpt").out_dir
    files = [p for p in out.rglob("*") if p.is_file()]
    assert any(p.suffix == ".safetensors" for p in files)
    assert {stat.S_IMODE(p.stat().st_mode) for p in files} == {0o644}
    assert stat.S_IMODE(out.stat().st_mode) == 0o755
