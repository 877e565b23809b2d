"""SentencePiece tokenization into the fixed-length int64 ids + float32 paddings the text encoder takes.

Truncation policy: the canonical text is encoded in full, then only the first `max_length` ids are kept
(head truncation, so the end of an over-long text, including its final "." token, is dropped). No BOS/EOS
is added. Shorter sequences are right-padded with `pad_id`; `paddings` is 1.0 exactly at padded positions.
Inputs the tokenizer cannot take raise `TextInputError`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import sentencepiece as spm

from videoprism_bundle.canonicalize import canonicalize_text
from videoprism_bundle.errors import TextInputError


@dataclass(frozen=True)
class TokenBatch:
    """Encoder-ready batch: `ids` int64 [B, L], `paddings` float32 [B, L] (1.0 = pad)."""

    ids: npt.NDArray[np.int64]
    paddings: npt.NDArray[np.float32]

    @property
    def lengths(self) -> list[int]:
        """Real (non-pad) tokens per row: the cost the text batcher charges for each row."""
        return [int(n) for n in (self.paddings < 0.5).sum(axis=1)]


class TextTokenizer:
    """Wraps one SentencePiece model; thread-safe for encoding (SentencePiece's encode is const)."""

    def __init__(
        self, model_file: Path, *, max_length: int, canonicalize: bool = True, pad_id: int = 0
    ) -> None:
        if max_length <= 0:
            raise ValueError(f"max_length must be positive, got {max_length}")
        self._processor = spm.SentencePieceProcessor(model_file=str(model_file))
        self.max_length = max_length
        self.canonicalize = canonicalize
        self.pad_id = pad_id
        self.vocab_size = int(self._processor.GetPieceSize())

    def normalize(self, text: str) -> str:
        """The exact string that is tokenized; also what the text cache key is derived from."""
        try:
            # Python strings may hold lone surrogates (e.g. from JSON "\\ud800"); SentencePiece cannot.
            text.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise TextInputError(
                f"text is not valid Unicode (unpaired surrogate at character {exc.start}); send UTF-8 text"
            ) from exc
        return canonicalize_text(text) if self.canonicalize else text

    def encode_ids(self, text: str) -> list[int]:
        """Token ids of one text after normalization and head truncation (no padding)."""
        return self.encode_normalized(self.normalize(text))

    def encode_normalized(self, normalized: str) -> list[int]:
        """Token ids of a string `normalize` returned, head-truncated (no padding)."""
        # EncodeAsIds adds neither BOS nor EOS unless asked to, which is what the encoder expects.
        ids: list[int] = self._processor.EncodeAsIds(normalized)
        return ids[: self.max_length]

    def decode_ids(self, ids: Sequence[int]) -> str:
        """The text of token ids from this vocabulary; it is then embedded like any text, so a client that
        tokenized with this bundle's model gets the same vector as for the text itself."""
        if not ids:
            raise TextInputError("a token-id input is empty; send at least one token id")
        for position, token in enumerate(ids):
            if not 0 <= token < self.vocab_size:
                raise TextInputError(
                    f"token id {token} at position {position} is outside this model's vocabulary "
                    f"(0 to {self.vocab_size - 1}); tokenize with the bundle's tokenizer or send text"
                )
        text: str = self._processor.DecodeIds(list(ids))
        return text

    def encode_batch(self, texts: Sequence[str]) -> TokenBatch:
        ids = np.full((len(texts), self.max_length), self.pad_id, dtype=np.int64)
        paddings = np.ones((len(texts), self.max_length), dtype=np.float32)
        for row, text in enumerate(texts):
            encoded = self.encode_ids(text)
            ids[row, : len(encoded)] = encoded
            paddings[row, : len(encoded)] = 0.0
        return TokenBatch(ids=ids, paddings=paddings)
