"""Batch sources over the synthetic video-text world (training.data), indexed by step."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

from training.data.examples import collate_examples
from training.data.synthetic import SyntheticConfig, SyntheticVideoText
from training.data.synthetic.foils import FoilFactor
from training.engine.batch import ClipBatch
from videoprism_bundle.tokenizer import TextTokenizer


@dataclass(frozen=True)
class SyntheticDataConfig:
    """Which clips a run trains on: the train split (seen combos) of the synthetic world."""

    seed: int = 0  # the training stream; evaluation sets use a disjoint stream whatever this is
    split_seed: int = 0  # which combos are held out; must match the evaluation
    heldout_modulus: int = 5
    tokenizer_vocab: int = 384
    tokenizer_corpus: int = 20_000  # captions the tokenizer is trained on (all combos, no clips)
    hard_negative_group: int = 0  # training batches in runs of clips sharing a factor (SyntheticConfig)
    reversal_twin_rate: float = 0.0  # pairs of a clip and its time reversal in a batch (SyntheticConfig)
    foils: tuple[FoilFactor, ...] = ()  # hard-negative captions per clip (SyntheticConfig.foils)

    def synthetic(self) -> SyntheticConfig:
        """The training stream's world; evaluation sets use `evaluation()` (independent clips)."""
        return dataclasses.replace(
            self.evaluation(),
            hard_negative_group=self.hard_negative_group,
            reversal_twin_rate=self.reversal_twin_rate,
            foils=self.foils,
        )

    def evaluation(self) -> SyntheticConfig:
        return SyntheticConfig(split_seed=self.split_seed, heldout_modulus=self.heldout_modulus)


class SyntheticSource:
    """Global batch `step` = training clips [step * B, (step + 1) * B): rendering is cheap (~700 clips/s on
    one core) and deterministic per index, so no worker pool or loader state is needed to resume exactly."""

    def __init__(
        self, data: SyntheticDataConfig, batch: int, tokenizer_file: Path | None, max_length: int
    ) -> None:
        self.dataset = SyntheticVideoText(data.synthetic(), split="train", seed=data.seed, length=2**62)
        self.batch = batch
        self.tokenizer = (
            None if tokenizer_file is None else TextTokenizer(tokenizer_file, max_length=max_length)
        )

    def global_batch(self, step: int) -> ClipBatch:
        start = step * self.batch
        examples = [self.dataset[i] for i in range(start, start + self.batch)]
        b = collate_examples(examples, self.tokenizer)
        return ClipBatch(
            frames=b.frames,
            token_ids=b.text_ids,
            paddings=b.text_paddings,
            labels={"appearance": b.appearance, "motion": b.motion, "combo": b.combo},
            foil_ids=b.foil_ids,
            foil_paddings=b.foil_paddings,
        )


def ensure_tokenizer(data: SyntheticDataConfig, directory: Path) -> Path:
    """Train the caption tokenizer once per run directory (deterministic in the data config)."""
    from training.data.tokenizer_training import TokenizerTrainingConfig, synthetic_captions, train_tokenizer

    path = directory / "tokenizer.model"
    if path.exists():
        return path
    captions = synthetic_captions(data.tokenizer_corpus, seed=data.seed, config=data.evaluation())
    written = train_tokenizer(
        captions, directory / "tokenizer", TokenizerTrainingConfig(data.tokenizer_vocab)
    )
    return written
