"""Sentence spans with character offsets, via spaCy's rule-based ``sentencizer``.

``spacy.blank("xx")`` (multi-language tokenizer) + ``sentencizer`` needs no model download and
behaves the same for sv/da/fi/en. Offsets index the original comment, so a UI can highlight
the sentence a score belongs to.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import spacy


@dataclass(frozen=True)
class Span:
    text: str
    start: int
    end: int


class SentenceSplitter:
    def __init__(self, max_chars: int = 100_000) -> None:
        self.nlp = spacy.blank("xx")
        self.nlp.add_pipe("sentencizer")
        self.nlp.max_length = max(self.nlp.max_length, max_chars)

    def split(self, texts: Sequence[str]) -> list[list[Span]]:
        """Per text, its non-blank sentences (whitespace-trimmed, offsets into the text)."""
        out: list[list[Span]] = []
        for doc in self.nlp.pipe(texts):
            spans: list[Span] = []
            for sent in doc.sents:
                raw = sent.text
                stripped = raw.strip()
                if not stripped:
                    continue
                start = sent.start_char + (len(raw) - len(raw.lstrip()))
                spans.append(Span(stripped, start, start + len(stripped)))
            out.append(spans)
        return out
