"""Evaluate trained checkpoints on the held-out split and return plain dicts for JSON reports."""

from __future__ import annotations

from pathlib import Path

from training.checkpoint import load_model_checkpoint
from training.data.synthetic import make_eval_set
from training.engine.sources import SyntheticDataConfig
from training.eval.embed import encode_texts, encode_videos
from training.eval.retrieval import retrieval_metrics
from training.model import VideoTextModel


def evaluate_retrieval_runs(
    checkpoints: dict[str, Path],
    tokenizer: Path,
    data: SyntheticDataConfig,
    num_clips: int = 500,
    seed: int = 0,
) -> dict[str, object]:
    """Zero-shot retrieval of each checkpoint on `num_clips` held-out clips (see eval.retrieval)."""
    heldout = make_eval_set("heldout", n=num_clips, seed=seed, config=data.evaluation())
    results: dict[str, object] = {
        "protocol": "held-out combos; each caption ranked against all clips; hit = the query's own clip",
        "num_clips": len(heldout),
        "num_combos": len(set(heldout.combo.tolist())),
    }
    for name, path in checkpoints.items():
        model = load_model_checkpoint(path)
        if not isinstance(model, VideoTextModel):
            raise ValueError(f"{path} has no text tower")
        video = encode_videos(model, heldout.frames)
        text = encode_texts(model, heldout.captions, tokenizer)
        results[name] = retrieval_metrics(video, text)
    return results
