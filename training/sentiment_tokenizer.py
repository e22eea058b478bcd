"""Build the WordPiece tokenizer for the sentiment encoder from training-split texts only.

Why not ``tokenizers``' own WordPiece/BPE/Unigram trainers: they break frequency ties in
hash-map order, so two runs on the same data give different vocabularies (and therefore
different models). This builder is deterministic: the vocabulary is every character seen
``min_frequency`` times (as word-initial and ``##`` continuation pieces) plus the sub-strings
that save the most characters (frequency x (length - 1)), ties broken alphabetically. The
result is a standard ``tokenizers`` WordPiece ``tokenizer.json``.

Lower-cased (the data is too small to learn case variants separately) but accents kept,
because å/ä/ö/æ/ø carry meaning in every target language; emoji get their own tokens.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

SPECIAL_TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
MAX_PREFIX = 14  # longest word-initial piece (whole words up to this length)
MAX_INNER = 8  # longest ## continuation piece


def _normalizer() -> normalizers.Normalizer:
    return normalizers.BertNormalizer(clean_text=True, handle_chinese_chars=False, strip_accents=False, lowercase=True)


def word_counts(texts: Iterable[str]) -> Counter[str]:
    """Pre-tokenized, normalised word frequencies (exactly what the tokenizer will see)."""
    norm, pre = _normalizer(), pre_tokenizers.BertPreTokenizer()
    counts: Counter[str] = Counter()
    for text in texts:
        counts.update(w for w, _ in pre.pre_tokenize_str(norm.normalize_str(text)))
    return counts


def build_vocab(counts: Counter[str], vocab_size: int, min_frequency: int = 2) -> list[str]:
    """Specials, characters, then the highest-scoring multi-character pieces."""
    chars: Counter[str] = Counter()
    pieces: Counter[str] = Counter()
    for word, c in counts.items():
        for ch in word:
            chars[ch] += c
        n = len(word)
        for k in range(2, min(n, MAX_PREFIX) + 1):
            pieces[word[:k]] += c
        for i in range(1, n - 1):
            for k in range(2, min(n - i, MAX_INNER) + 1):
                pieces["##" + word[i : i + k]] += c
    kept_chars = sorted((ch for ch, c in chars.items() if c >= min_frequency), key=lambda ch: (-chars[ch], ch))
    vocab = SPECIAL_TOKENS + kept_chars + ["##" + ch for ch in kept_chars]
    budget = max(0, vocab_size - len(vocab))

    def score(piece: str) -> int:
        return pieces[piece] * (len(piece.removeprefix("##")) - 1)

    candidates = [p for p, c in pieces.items() if c >= min_frequency]
    candidates.sort(key=lambda p: (-score(p), p))
    return vocab + candidates[:budget]


def train_tokenizer(texts: Iterable[str], vocab_size: int = 12000, min_frequency: int = 2) -> Tokenizer:
    """A BERT-style WordPiece tokenizer whose [CLS] ... [SEP] template matches the BERT encoder in service/sentiment/network.py."""
    vocab = build_vocab(word_counts(texts), vocab_size, min_frequency)
    tok = Tokenizer(models.WordPiece({p: i for i, p in enumerate(vocab)}, unk_token="[UNK]", max_input_chars_per_word=100))
    tok.normalizer = _normalizer()
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    cls_id, sep_id = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1", special_tokens=[("[CLS]", cls_id), ("[SEP]", sep_id)]
    )
    tok.decoder = decoders.WordPiece()
    return tok
