"""The video encoder's cost per clip, written into the manifest so the server can choose its parallelism
without timing a run (service/core/parallelism.py)."""

from __future__ import annotations

import torch
from torch.utils.flop_counter import FlopCounterMode


def gflops_per_clip(graph: torch.nn.Module, frames: torch.Tensor) -> float:
    """GFLOPs (a multiply-add counts 2) of `graph` on one clip of `frames` [B, T, S, S, 3]. Counts matmuls,
    convolutions and attention, which are all but a few percent of a ViT's work."""
    with torch.inference_mode(), FlopCounterMode(display=False) as counter:
        graph(frames[:1])
    return counter.get_total_flops() / 1e9
