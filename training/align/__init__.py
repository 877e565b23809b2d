"""LiT-style re-alignment: a text tower + pooler trained contrastively on the frozen stage-2 encoder."""

from training.align.task import AlignConfig, AlignTask, train_align

__all__ = ["AlignConfig", "AlignTask", "train_align"]
