"""`export --verify`: the export and the parity check each run in their own process (issue 28: a full-size
model's export and verify stacked in one process), and the check still compares every graph."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.export.conftest import ExportedTiny
from training.cli import main as cli_main
from training.export.manifest_io import read_manifest
from training.export.parity import (
    FP32_TOLERANCE,
    VERIFY_BATCH_SIZES,
    check_bundle_parity,
    check_parity_in_child,
)


def test_export_verify_runs_in_child_processes(
    tiny_export: ExportedTiny, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "bundle"
    code = cli_main(["export", "--checkpoint", str(tiny_export.checkpoint), "--out", str(out), "--verify"])
    printed = capsys.readouterr().out
    assert code == 0, printed
    # The child's export is the same graph as the in-process one (same weights, same file hashes).
    assert read_manifest(out).files_sha256 == read_manifest(tiny_export.bundle).files_sha256
    found = re.findall(r"parity (\w+)\.embeddings batch (\d+): max abs error ([0-9.e+-]+)", printed)
    assert {(graph, int(batch)) for graph, batch, _ in found} == {
        (graph, batch) for graph in ("video", "text") for batch in VERIFY_BATCH_SIZES
    }
    assert all(float(error) <= FP32_TOLERANCE for _, _, error in found)


def test_the_child_check_equals_the_in_process_check(tiny_export: ExportedTiny) -> None:
    in_child = check_parity_in_child(tiny_export.checkpoint, tiny_export.bundle)
    in_process = check_bundle_parity(tiny_export.model, tiny_export.bundle, VERIFY_BATCH_SIZES)
    assert [(r.graph, r.output, r.batch) for r in in_child] == [
        (r.graph, r.output, r.batch) for r in in_process
    ]
    for a, b in zip(in_child, in_process, strict=True):
        assert a.max_abs_error == pytest.approx(b.max_abs_error, abs=1e-6)
