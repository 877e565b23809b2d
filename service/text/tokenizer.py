"""The bundle's tokenizer as the service runs it: the contract's input errors become `invalid_request`.

Tokenization itself (canonicalization, head truncation, padding) is the contract's
`videoprism_bundle.tokenizer`; this subclass only puts the service's error code on what a client sent.
"""

from __future__ import annotations

from collections.abc import Sequence

from service.errors import InvalidRequestError
from videoprism_bundle.errors import TextInputError
from videoprism_bundle.tokenizer import TextTokenizer as BundleTokenizer


class TextTokenizer(BundleTokenizer):
    """A `videoprism_bundle` tokenizer whose rejected inputs are 400 `invalid_request` errors."""

    def normalize(self, text: str) -> str:
        try:
            return super().normalize(text)
        except TextInputError as exc:
            raise InvalidRequestError(str(exc)) from exc

    def decode_ids(self, ids: Sequence[int]) -> str:
        try:
            return super().decode_ids(ids)
        except TextInputError as exc:
            raise InvalidRequestError(str(exc)) from exc
