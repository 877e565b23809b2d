"""What the contract raises. Plain exceptions: the service maps them to its coded errors at its edge."""

from __future__ import annotations


class BundleError(Exception):
    """The bundle cannot be served; `file` is the offending path relative to the bundle (or the bundle)."""

    def __init__(self, file: str, problem: str) -> None:
        super().__init__(f"{file}: {problem}")
        self.file = file
        self.problem = problem


class TextInputError(ValueError):
    """A text or token-id input the tokenizer cannot take; the message says what to send instead."""
