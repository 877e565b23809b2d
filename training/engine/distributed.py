"""Data parallelism under `torchrun`: process-group setup, gradient averaging, rank-0 helpers.

Gradients are averaged by one explicit all-reduce after backward instead of wrapping the model in
`DistributedDataParallel`: trainers call several sub-modules (towers, decoders, loss) outside one
`forward`, and some parameters are legitimately unused in ablations, which DDP's bucketing rejects.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from datetime import timedelta

import torch
import torch.distributed as dist
from torch import nn


@dataclass(frozen=True)
class DistInfo:
    rank: int = 0
    world_size: int = 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def init_distributed() -> DistInfo:
    """Join the process group when launched by torchrun (WORLD_SIZE > 1); gloo works on CPU."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return DistInfo()
    if not dist.is_initialized():
        backend = "nccl" if torch.cuda.is_available() else "gloo"
        dist.init_process_group(backend=backend)
    return DistInfo(rank=dist.get_rank(), world_size=dist.get_world_size())


def shutdown_distributed() -> None:
    if dist.is_available() and dist.is_initialized():
        # Ranks leave together: a rank that tears down its gloo pairs while another still talks on them
        # makes that one abort ("terminate called without an active exception", seen once in CI). Bounded,
        # so a rank that failed does not wait forever for one that never arrives.
        with contextlib.suppress(RuntimeError):
            if dist.get_backend() == "gloo":
                dist.monitored_barrier(timeout=timedelta(seconds=30))
            else:
                dist.barrier()
        dist.destroy_process_group()


def average_gradients(model: nn.Module, info: DistInfo) -> None:
    """Mean of every gradient over ranks, flattened into one buffer so it is a single collective."""
    if info.world_size == 1:
        return
    params = [p for p in model.parameters() if p.requires_grad]
    grads = [p.grad if p.grad is not None else torch.zeros_like(p) for p in params]
    flat = torch.cat([g.reshape(-1) for g in grads])
    dist.all_reduce(flat)
    flat /= info.world_size
    offset = 0
    for param in params:
        n = param.numel()
        param.grad = flat[offset : offset + n].view_as(param).clone()
        offset += n


def broadcast_parameters(model: nn.Module, info: DistInfo) -> None:
    """Start every rank from rank 0's weights (initialisation draws may differ per process)."""
    if info.world_size == 1:
        return
    for tensor in list(model.parameters()) + list(model.buffers()):
        dist.broadcast(tensor.data, src=0)


def reduce_mean(value: float, info: DistInfo) -> float:
    if info.world_size == 1:
        return value
    t = torch.tensor([value], dtype=torch.float64)
    dist.all_reduce(t)
    return float(t.item() / info.world_size)


def barrier(info: DistInfo) -> None:
    if info.world_size > 1:
        dist.barrier()
