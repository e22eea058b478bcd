"""Reject comment texts the pipeline cannot analyse meaningfully, with a reason a caller can act on."""

from __future__ import annotations

import unicodedata

# Tab, newline and carriage return are normal in free text; every other control is not.
_ALLOWED_CONTROLS = {"\t", "\n", "\r"}


class InvalidText(ValueError):
    """The text is unusable; ``str(exc)`` is the reason shown to the caller."""


def validate_text(text: str, max_chars: int) -> str:
    """Return ``text`` unchanged if usable, else raise :class:`InvalidText`."""
    if not isinstance(text, str):
        raise InvalidText("text must be a string")
    if len(text) > max_chars:
        raise InvalidText(f"text has {len(text)} characters; the limit is {max_chars}")
    if not text.strip():
        raise InvalidText("text is empty or whitespace only")
    for pos, ch in enumerate(text):
        if ch in _ALLOWED_CONTROLS:
            continue
        cat = unicodedata.category(ch)
        if cat == "Cc":
            raise InvalidText(f"text contains control character U+{ord(ch):04X} at position {pos}")
        if cat == "Cs":
            raise InvalidText(f"text contains an unpaired surrogate U+{ord(ch):04X} at position {pos} (invalid UTF-8/UTF-16)")
        if ch == "\ufffd":
            raise InvalidText(f"text contains U+FFFD at position {pos}: it was decoded from invalid UTF-8 upstream")
    return text
