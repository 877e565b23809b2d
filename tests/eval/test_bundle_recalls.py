"""R@1/5/10 in both directions, as `python -m training.export.bundle_retrieval` prints them per bundle."""

from __future__ import annotations

import numpy as np

from training.export.bundle_retrieval import format_recalls, recall_table


def test_directions_are_ranked_separately() -> None:
    # With unit clip vectors the similarity matrix is `text` itself: clip 0 outscores the own clip of
    # captions 1 and 2 (text->video misses), yet each clip's closest caption is its own (video->text hits).
    video = np.eye(3, dtype=np.float32)
    text = np.array([[1.0, 0.0, 0.0], [0.9, 0.5, 0.0], [0.8, 0.0, 0.4]], dtype=np.float32)
    recalls = recall_table(video, text, ks=(1, 2))
    assert recalls["v2t_R@1"] == 100.0
    assert abs(recalls["t2v_R@1"] - 100.0 / 3) < 1e-9
    assert recalls["t2v_R@2"] == 100.0
    line = format_recalls(recalls)
    assert line.startswith("text->video R@1 33.33 R@2 100.00; video->text R@1 100.00")
