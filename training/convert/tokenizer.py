"""Checks on the user-supplied SentencePiece model that goes into an LvT checkpoint.

The official `c4_en` vocabulary can no longer be downloaded, so the user brings the file; the converter only
makes sure it is a SentencePiece model whose vocabulary has exactly as many ids as the model has embedding
rows (a different vocabulary would map text to the wrong rows silently). Canonicalization and padding live
with the bundle contract's tokenizer (`videoprism_bundle/tokenizer.py`), which reads this file at serving time.
"""

from __future__ import annotations

from pathlib import Path

from training.convert.npz import OfficialCheckpointError


def check_tokenizer(path: str | Path, vocab_size: int) -> int:
    """Load `path` with SentencePiece; return its vocabulary size, or raise if it is unusable."""
    import sentencepiece as spm  # imported here: only conversions with a tokenizer need it

    path = Path(path)
    if not path.is_file():
        raise OfficialCheckpointError(f"tokenizer {path}: no such file")
    processor = spm.SentencePieceProcessor()
    try:
        processor.Load(str(path))
    except (OSError, RuntimeError) as exc:
        raise OfficialCheckpointError(f"tokenizer {path} is not a SentencePiece model: {exc}") from exc
    size = int(processor.GetPieceSize())
    if size != vocab_size:
        raise OfficialCheckpointError(
            f"tokenizer {path} has {size} pieces but the checkpoint's token embedding has {vocab_size} "
            "rows; use the vocabulary the model was trained with (official: c4_en, 32,000 pieces)"
        )
    return size
