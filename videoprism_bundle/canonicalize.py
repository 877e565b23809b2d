"""The text canonicalization VideoPrism's text encoder was trained with.

Inputs that differ only in punctuation, case or spacing must map to the same token ids (and the same cache
key), so this runs before tokenization and before the text cache key is computed.
"""

from __future__ import annotations

import string

# Punctuation becomes a space rather than vanishing so that "Hello,World" stays two words.
_PUNCTUATION_TO_SPACE = str.maketrans(dict.fromkeys(string.punctuation, " "))


def canonicalize_text(text: str) -> str:
    """Replace ASCII punctuation by spaces, lower-case, collapse whitespace, strip, append "."."""
    spaced = text.translate(_PUNCTUATION_TO_SPACE).lower()
    # The trailing "." is always appended (even to ""): the encoder saw every caption end that way.
    return " ".join(spaced.split()) + "."
