"""DataLoaders that render or decode in worker processes, so the training step never waits on data."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from torch.utils.data import DataLoader

from training.data.examples import TokenizerSpec, VideoTextBatch
from training.data.mixing import AlternatingBatches, WeightedSource


@dataclass(frozen=True)
class LoaderConfig:
    batch_size: int = 32
    num_workers: int = 2
    prefetch_batches: int = 4  # per worker; a few batches absorb a slow clip without stalling the step
    num_batches: int | None = None  # None: endless


def make_batch_loader(
    sources: list[WeightedSource], config: LoaderConfig, tokenizer: TokenizerSpec | None = None
) -> DataLoader[VideoTextBatch]:
    """Batches from `sources`, alternating by weight (see `AlternatingBatches`), built in worker processes."""
    batches = AlternatingBatches(
        sources, config.batch_size, num_batches=config.num_batches, tokenizer=tokenizer
    )
    workers = config.num_workers
    return DataLoader(
        batches,
        batch_size=None,  # AlternatingBatches already batches, one source at a time
        num_workers=workers,
        prefetch_factor=config.prefetch_batches if workers > 0 else None,
        persistent_workers=workers > 0,
        # Batches are dataclasses: the default collate would try to batch them again.
        collate_fn=_identity,
    )


def _identity(batch: Any) -> Any:
    return batch
