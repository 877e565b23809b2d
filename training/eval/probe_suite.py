"""Appearance and motion probes on a frozen encoder: attention probe (VideoGLUE-style) and k-NN.

Probe data come from the "all" split of the synthetic world, where appearance and motion labels are
exactly independent, drawn from evaluation streams disjoint from every training stream: `train_clips`
clips to fit the probe and `test_clips` other clips to score it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from training.data.synthetic import make_eval_set
from training.data.synthetic.vocabulary import NUM_APPEARANCE_CLASSES, NUM_MOTION_CLASSES
from training.engine.sources import SyntheticDataConfig
from training.eval.embed import encode_tokens
from training.eval.probes import ProbeConfig, knn_accuracy, train_attention_probe
from training.model import VideoEncoder

TASKS = {"appearance": NUM_APPEARANCE_CLASSES, "motion": NUM_MOTION_CLASSES}


@dataclass(frozen=True)
class ProbeSuiteConfig:
    train_clips: int = 1000
    test_clips: int = 500
    probe: ProbeConfig = field(default_factory=ProbeConfig)
    knn_k: int = 10
    seed: int = 0  # probe-set seed; fixed across the models being compared


def probe_encoder(
    encoder: VideoEncoder, data: SyntheticDataConfig, config: ProbeSuiteConfig = ProbeSuiteConfig()
) -> dict[str, float]:
    """-> {"appearance_probe", "motion_probe", "appearance_knn", "motion_knn"} top-1 accuracies."""
    synthetic = data.evaluation()
    train = make_eval_set("all", n=config.train_clips, seed=1000 + config.seed, config=synthetic)
    test = make_eval_set("all", n=config.test_clips, seed=2000 + config.seed, config=synthetic)
    train_tokens = encode_tokens(encoder, train.frames)
    test_tokens = encode_tokens(encoder, test.frames)
    heads = encoder.config.num_heads
    out: dict[str, float] = {}
    for task, classes in TASKS.items():
        y_train = torch.from_numpy(getattr(train, task))
        y_test = torch.from_numpy(getattr(test, task))
        out[f"{task}_probe"] = train_attention_probe(
            train_tokens, y_train, test_tokens, y_test, classes, heads, config.probe
        )
        out[f"{task}_knn"] = knn_accuracy(
            train_tokens.float().mean(dim=1), y_train, test_tokens.float().mean(dim=1), y_test, config.knn_k
        )
    return out
