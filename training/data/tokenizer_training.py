"""Train a small SentencePiece model on captions, canonicalised exactly as the service will see them.

The service tokenises with `videoprism_bundle.tokenizer.TextTokenizer` (canonicalise, EncodeAsIds, truncate, right-pad
with 0); training reuses that class, so the ids a model learns on are the ids it is served.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import sentencepiece as spm

from training.data.synthetic.dataset import TINY, SyntheticConfig, SyntheticVideoText
from videoprism_bundle.canonicalize import canonicalize_text

PAD_ID = 0  # the encoder's padding id, and what TextTokenizer pads with
UNK_ID = 1


@dataclass(frozen=True)
class TokenizerTrainingConfig:
    vocab_size: int = 384
    # BPE, because the synthetic captions hold only ~150 distinct words: unigram stops at ~200 pieces,
    # while BPE reaches 384 and then keeps nearly every word whole (at most ~23 tokens a caption).
    model_type: Literal["unigram", "bpe"] = "bpe"
    # With False, SentencePiece may return fewer pieces than asked when the corpus cannot fill them.
    hard_vocab_limit: bool = True


def train_tokenizer(
    texts: Iterable[str], model_prefix: Path, config: TokenizerTrainingConfig = TokenizerTrainingConfig()
) -> Path:
    """Train on the canonical form of `texts`; return the written `<model_prefix>.model`."""
    model_prefix.parent.mkdir(parents=True, exist_ok=True)
    spm.SentencePieceTrainer.train(
        sentence_iterator=(canonicalize_text(text) for text in texts),
        model_prefix=str(model_prefix),
        vocab_size=config.vocab_size,
        model_type=config.model_type,
        hard_vocab_limit=config.hard_vocab_limit,
        pad_id=PAD_ID,
        unk_id=UNK_ID,
        bos_id=-1,
        eos_id=-1,
        character_coverage=1.0,
        # Canonical text is already lower-case ASCII; any further normalisation would make serving and
        # training disagree on what string was tokenised.
        normalization_rule_name="identity",
        minloglevel=2,
    )
    return model_prefix.with_suffix(".model")


def synthetic_captions(n: int, seed: int = 0, config: SyntheticConfig = TINY) -> list[str]:
    """n captions of the synthetic world (all combos), without rendering any clip."""
    dataset = SyntheticVideoText(config, split="all", seed=seed, length=n)
    return [dataset.caption_at(i) for i in range(n)]
