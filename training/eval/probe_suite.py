"""Appearance, motion and temporal probes on a frozen encoder: attention probe (VideoGLUE-style) and k-NN.

Every probe is fitted on clips of the training combos and scored on clips of the held-out combos (disjoint
(appearance, motion) pairs; every appearance and every motion still occurs on both sides), drawn from
evaluation streams disjoint from every training stream. Tasks:
- appearance: shape x colour, 64 classes, chance 1/64; colour alone can reach about 1/8;
- motion: 14 classes, chance 1/14; colour carries nothing about it;
- temporal (training.eval.temporal): the direction of a reversible motion, clip and its time reverse both
  present, chance 1/2, and colour, single frames or the frame set are exactly at chance.
`reference_levels` measures the colour-only level of each task with the same k-NN.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import torch

from training.data.synthetic import make_eval_set
from training.data.synthetic.vocabulary import NUM_APPEARANCE_CLASSES, NUM_MOTION_CLASSES
from training.engine.sources import SyntheticDataConfig
from training.eval.embed import encode_tokens
from training.eval.probes import ProbeConfig, knn_accuracy, train_attention_probe
from training.eval.temporal import colour_histograms, make_temporal_set
from training.model import VideoEncoder

TASKS = {"appearance": NUM_APPEARANCE_CLASSES, "motion": NUM_MOTION_CLASSES, "temporal": 2}
CHANCE = {task: 1.0 / classes for task, classes in TASKS.items()}


@dataclass(frozen=True)
class ProbeSuiteConfig:
    train_clips: int = 1000
    test_clips: int = 500
    probe: ProbeConfig = field(default_factory=ProbeConfig)
    knn_k: int = 10
    seed: int = 0  # probe-set seed; fixed across the models being compared


@dataclass(frozen=True)
class ProbeSets:
    """Frames [N, T, H, W, 3] uint8 and labels per task, for the fitting side and the scored side."""

    train_frames: dict[str, npt.NDArray[np.uint8]]
    test_frames: dict[str, npt.NDArray[np.uint8]]
    train_labels: dict[str, npt.NDArray[np.int64]]
    test_labels: dict[str, npt.NDArray[np.int64]]


def probe_sets(data: SyntheticDataConfig, config: ProbeSuiteConfig) -> ProbeSets:
    synthetic = data.evaluation()
    train = make_eval_set("train", n=config.train_clips, seed=1000 + config.seed, config=synthetic)
    test = make_eval_set("heldout", n=config.test_clips, seed=2000 + config.seed, config=synthetic)
    t_train = make_temporal_set("train", config.train_clips, 3000 + config.seed, synthetic)
    t_test = make_temporal_set("heldout", config.test_clips, 4000 + config.seed, synthetic)
    return ProbeSets(
        train_frames={"appearance": train.frames, "motion": train.frames, "temporal": t_train.frames},
        test_frames={"appearance": test.frames, "motion": test.frames, "temporal": t_test.frames},
        train_labels={"appearance": train.appearance, "motion": train.motion, "temporal": t_train.label},
        test_labels={"appearance": test.appearance, "motion": test.motion, "temporal": t_test.label},
    )


def probe_encoder(
    encoder: VideoEncoder, data: SyntheticDataConfig, config: ProbeSuiteConfig = ProbeSuiteConfig()
) -> dict[str, float]:
    """-> {"<task>_probe", "<task>_knn"} top-1 accuracies for task in appearance, motion, temporal."""
    sets = probe_sets(data, config)
    heads = encoder.config.num_heads
    tokens: dict[int, torch.Tensor] = {}  # appearance and motion share their clips: encode them once

    def encode(frames: npt.NDArray[np.uint8]) -> torch.Tensor:
        if id(frames) not in tokens:
            tokens[id(frames)] = encode_tokens(encoder, frames)
        return tokens[id(frames)]

    out: dict[str, float] = {}
    for task, classes in TASKS.items():
        train_tokens, test_tokens = encode(sets.train_frames[task]), encode(sets.test_frames[task])
        y_train = torch.from_numpy(sets.train_labels[task])
        y_test = torch.from_numpy(sets.test_labels[task])
        out[f"{task}_probe"] = train_attention_probe(
            train_tokens, y_train, test_tokens, y_test, classes, heads, config.probe
        )
        out[f"{task}_knn"] = knn_accuracy(
            train_tokens.float().mean(dim=1), y_train, test_tokens.float().mean(dim=1), y_test, config.knn_k
        )
    return out


def reference_levels(data: SyntheticDataConfig, config: ProbeSuiteConfig) -> dict[str, float]:
    """{"<task>_chance", "<task>_colour_only"}: chance, and the k-NN accuracy of an RGB histogram of the
    whole clip (colour and nothing else) on the same fitting and scored clips as the probes."""
    sets = probe_sets(data, config)
    out: dict[str, float] = {}
    for task in TASKS:
        out[f"{task}_chance"] = CHANCE[task]
        out[f"{task}_colour_only"] = knn_accuracy(
            torch.from_numpy(colour_histograms(sets.train_frames[task])),
            torch.from_numpy(sets.train_labels[task]),
            torch.from_numpy(colour_histograms(sets.test_frames[task])),
            torch.from_numpy(sets.test_labels[task]),
            config.knn_k,
        )
    return out
