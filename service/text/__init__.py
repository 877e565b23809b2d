"""Text input for the text encoder, with the service's error codes (see `service.text.tokenizer`)."""

from service.text.tokenizer import TextTokenizer

__all__ = ["TextTokenizer"]
