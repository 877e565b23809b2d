"""`videoprism-embed` end to end against the real server (HTTP and gRPC) and the in-process engine:
mixed good and bad inputs, the failure summary, resume, both output formats."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from tests.api.server_thread import ServerThread
from videoprism_tools.embed.cli import main
from videoprism_tools.embed.output import existing_ids, read_table

GOOD = {"testsrc.mp4", "smptebars.mp4", "mandelbrot.mp4", "sub/rgbtestsrc.mp4"}


def _parts(folder: Path) -> list[Path]:
    return sorted(folder.glob("part-*.parquet"))


def test_folder_with_bad_inputs_then_resume(
    service: ServerThread, video_folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    args = [
        str(video_folder),
        "-o",
        str(out),
        "--server",
        service.http_url,
        "--no-progress",
        "--batch-size",
        "2",
    ]
    assert main([*args, "--segment-seconds", "1.5"]) == 1  # broken.mp4 fails
    first = capsys.readouterr().out
    assert "5 inputs: 4 embedded, 0 already done, 1 failed; 8 rows written" in first
    assert "  unsupported_media: 1" in first
    table = read_table(out)
    assert set(table.column("id").to_pylist()) == GOOD
    assert table.column("segment_index").to_pylist().count(1) == 4  # 3 s videos, 1.5 s segments
    assert table.schema.field("vector").type.list_size == 16
    failures = [json.loads(line) for line in (out / "failures.jsonl").read_text().splitlines()]
    assert [(f["id"], f["code"]) for f in failures] == [("broken.mp4", "unsupported_media")]

    # Resume: nothing already written is embedded again; only the new file is.
    shutil.copy(video_folder / "testsrc.mp4", video_folder / "new.mp4")
    try:
        assert main([*args, "--segment-seconds", "1.5"]) == 1
    finally:
        (video_folder / "new.mp4").unlink()
    second = capsys.readouterr().out
    assert "6 inputs: 1 embedded, 4 already done, 1 failed; 2 rows written" in second
    assert len(_parts(out)) == 2 and existing_ids(out) == GOOD | {"new.mp4"}


def test_manifest_over_grpc_to_npy_with_missing_file_and_url(
    service: ServerThread, video_folder: Path, origin: tuple[str, int], tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    manifest = tmp_path / "list.jsonl"
    rows = [
        {"id": "a", "path": str(video_folder / "testsrc.mp4")},
        {"id": "gone", "path": "does-not-exist.mp4"},
        {"id": "remote", "url": f"{origin[0]}/clip.mp4"},
        {"id": "missing-remote", "url": f"{origin[0]}/nothing-here.mp4"},
    ]
    manifest.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "npy"
    grpc = f"grpc://{service.grpc_target}"
    assert main([str(manifest), "-o", str(out), "--server", grpc, "--format", "npy", "--no-progress"]) == 1
    summary = capsys.readouterr().out
    assert "4 inputs: 2 embedded, 0 already done, 2 failed" in summary
    assert "  read_failed: 1" in summary and "  fetch_failed: 1" in summary
    (vectors_file,) = out.glob("part-*.npy")
    meta = [json.loads(line) for line in next(out.glob("part-*.jsonl")).read_text().splitlines()]
    vectors = np.load(vectors_file)
    assert sorted(m["id"] for m in meta) == ["a", "remote"] and vectors.shape == (2, 16)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)


def test_in_process_engine_matches_the_service(
    service: ServerThread, api_bundle_dir: Path, video_folder: Path, tmp_path: Path
) -> None:
    files = [str(video_folder / "testsrc.mp4"), str(video_folder / "smptebars.mp4")]
    local, remote = tmp_path / "local", tmp_path / "remote"
    assert main([*files, "-o", str(local), "--bundle", str(api_bundle_dir), "--no-progress"]) == 0
    assert main([*files, "-o", str(remote), "--server", service.http_url, "--no-progress"]) == 0
    a, b = (pq.read_table(_parts(d)[0]).sort_by("id") for d in (local, remote))
    assert a.column("id").to_pylist() == b.column("id").to_pylist() == sorted(files)
    np.testing.assert_allclose(
        np.stack(a.column("vector").to_numpy(zero_copy_only=False)),
        np.stack(b.column("vector").to_numpy(zero_copy_only=False)),
        atol=1e-5,
    )
