"""The generated block of docs/results.md: what it holds, and that each scale replaces only its own block."""

from __future__ import annotations

from pathlib import Path

from training.eval.results_report import render_report, write_docs_block

LEVELS = {
    "appearance_chance": 1 / 64, "appearance_colour_only": 0.125, "motion_chance": 1 / 14,
    "motion_colour_only": 0.07, "temporal_chance": 0.5, "temporal_colour_only": 0.5,
}  # fmt: skip


def test_report_holds_table_levels_and_verdicts() -> None:
    row = {"motion_probe": 0.3, "temporal_probe": 0.6}
    results = {
        str(s): {"stage1_only": row, "stage2_full": {**row, "motion_probe": 0.5 + s / 100}} for s in range(3)
    }
    block = render_report(results, LEVELS, "python -m training.eval.ablation --scale demo --seeds 0 1 2")
    assert "seeds with results: 0, 1, 2" in block
    assert "| stage 2 full (BEVT 0.65, shuffle, token + global) | 3 | 51.0 ± 1.0 | 60.0 ± 0.0 |" in block
    assert "temporal chance 50.0 %, colour-only 50.0 %" in block
    assert "**stage 2 improves motion-centric tasks over stage 1: reproduced**" in block


def test_each_scale_replaces_only_its_block(tmp_path: Path) -> None:
    doc = tmp_path / "results.md"
    doc.write_text("# R\n<!-- ablation-table:begin -->\nold reduced\n<!-- ablation-table:end -->\ntail\n")
    write_docs_block(doc, "demo", "first")
    write_docs_block(doc, "demo", "second")
    text = doc.read_text()
    assert "old reduced" in text and "tail" in text and "first" not in text
    assert text.count("<!-- ablation-demo:begin -->\nsecond\n<!-- ablation-demo:end -->") == 1
    write_docs_block(doc, "reduced", "new reduced")
    assert "old reduced" not in doc.read_text() and "new reduced" in doc.read_text()
