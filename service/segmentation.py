"""Sentences and clauses with character offsets into the comment.

Sentences: spaCy's rule-based ``sentencizer`` on ``spacy.blank("xx")`` (multi-language tokenizer, no
model download, the same for sv/da/fi/en); sentiment is reported per sentence.

Clauses (theme units): survey answers pack two touchpoints into one sentence ("the parcel came a day
late and nobody answered at customer service", "friendly staff but the queue was far too long"). A
sentence is cut again at coordinating/contrasting conjunctions of sv/da/fi/en when both sides keep at
least ``min_words`` words, so "chat och e-post" stays whole.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass

import spacy


@dataclass(frozen=True)
class Span:
    text: str
    start: int
    end: int


class SentenceSplitter:
    """Sentences with spaCy, in a memory zone per call: spaCy's vocabulary otherwise keeps every new word
    it tokenises, so a long-running service or a 10M-row dump grows without bound (about 180 MiB per
    40,000 comments of unseen words, measured); the zone drops them when the call ends. One call at a
    time (a lock), because a zone ending frees what another thread's documents would still use."""

    def __init__(self, max_chars: int = 100_000) -> None:
        self.nlp = spacy.blank("xx")
        self.nlp.add_pipe("sentencizer")
        self.nlp.max_length = max(self.nlp.max_length, max_chars)
        self._lock = threading.Lock()

    def split(self, texts: Sequence[str]) -> list[list[Span]]:
        """Per text, its non-blank sentences (whitespace-trimmed, offsets into the text)."""
        with self._lock, self.nlp.memory_zone():
            return self._split(texts)

    def _split(self, texts: Sequence[str]) -> list[list[Span]]:
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

# Conjunctions that start a new clause (sv, da, fi, en). "ja"/"og"/"och"/"and" only split when both
# sides are long enough, which is what keeps noun pairs ("pris och kvalitet") together.
_CONJUNCTIONS = (
    "men", "och", "samt", "fast", "medan", "eftersom",          # sv
    "og", "mens", "selvom",                                     # da ("men" as in sv)
    "mutta", "ja", "vaan", "koska", "vaikka", "kun",            # fi
    "but", "and", "although", "though", "whereas", "while", "because", "however",  # en
)
_SPLIT = re.compile(r"(?:\s*[;:]\s+|\s+[-–—]\s+|,?\s+(?=(?:" + "|".join(_CONJUNCTIONS) + r")\b))", re.IGNORECASE)
_WORD = re.compile(r"\w+", re.UNICODE)
_CONJUNCTION_SET = frozenset(_CONJUNCTIONS)


def _content_words(text: str) -> int:
    """Words other than the conjunctions themselves ("och kvalitet" is one)."""
    return sum(1 for w in _WORD.findall(text) if w.lower() not in _CONJUNCTION_SET)


@dataclass(frozen=True)
class Unit:
    """A clause of comment ``comment``, or the whole comment (offsets index the comment text)."""

    comment: int
    text: str
    start: int
    end: int
    whole: bool = False


class ClauseSegmenter:
    """``transform(texts)`` -> per text, the whole comment, then its clauses when it has more than one.

    The whole comment decides its main theme (consistent across translations, which split into
    clauses differently); clauses add the other themes it mentions and carry their own sentiment.
    """

    def __init__(self, min_words: int = 2, max_units: int = 20) -> None:
        self.min_words = min_words
        self.max_units = max_units
        self._sentences: SentenceSplitter | None = None

    def _split_sentence(self, span: Span) -> list[Span]:
        pieces: list[Span] = []
        cursor = 0
        text = span.text
        for m in _SPLIT.finditer(text):
            left, right = text[cursor:m.start()], text[m.end():]
            if _content_words(left) >= self.min_words and _content_words(right) >= self.min_words:
                pieces.append(Span(left, span.start + cursor, span.start + m.start()))
                cursor = m.end()
        pieces.append(Span(text[cursor:], span.start + cursor, span.end))
        return [p for p in pieces if p.text.strip()]

    def sentences(self, texts: Sequence[str]) -> list[list[Span]]:
        if self._sentences is None:
            self._sentences = SentenceSplitter()
        return self._sentences.split(texts)

    def transform(self, texts: Sequence[str], sentences: Sequence[Sequence[Span]] | None = None) -> list[list[Unit]]:
        """``sentences`` (from :meth:`sentences`) lets a caller that also scores sentences split them once."""
        if sentences is None:
            sentences = self.sentences(texts)
        elif len(sentences) != len(texts):
            raise ValueError("sentences must align with texts")
        out: list[list[Unit]] = []
        for i, spans in enumerate(sentences):
            clauses = [Unit(i, p.text, p.start, p.end) for s in spans for p in self._split_sentence(s)]
            whole = [Unit(i, texts[i], 0, len(texts[i]), whole=True)]
            out.append(whole + clauses[: self.max_units] if len(clauses) > 1 else whole)
        return out
