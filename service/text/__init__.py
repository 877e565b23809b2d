"""Text input for the text encoder: VideoPrism canonicalization and SentencePiece tokenization."""

from service.text.canonicalize import canonicalize_text
from service.text.tokenizer import TextTokenizer, TokenBatch

__all__ = ["TextTokenizer", "TokenBatch", "canonicalize_text"]
