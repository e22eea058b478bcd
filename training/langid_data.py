"""Per-language comment texts for training and evaluating language ID, split by id hash."""

from __future__ import annotations

import hashlib
import random
import re
from collections.abc import Callable

from training.data import read_tsv, split_of

Row = dict[str, str]
# language -> [(dataset file, row filter)]; reviews and comments close to survey answers.
SOURCES: dict[str, list[tuple[str, Callable[[Row], bool]]]] = {
    "sv": [("trustpilot_sv_2025/trustpilot_sv_2025.tsv", lambda r: r.get("lang_heuristic") == "sv"),
           ("trustpilot_sv_neutral_2023/trustpilot_sv_neutral_2023.tsv", lambda r: r.get("lang_heuristic") == "sv")],
    "da": [("trustpilot_da_sentida/trustpilot_da_sentida.tsv", lambda r: True),
           ("sam_da_social/sam_da_social.tsv", lambda r: True)],
    "fi": [("xed_emotion/xed_emotion.tsv", lambda r: r["lang"] == "fi" and r["annotation"] == "native")],
    "en": [("semeval_absa_en/semeval_absa_en_sentences.tsv", lambda r: True),
           ("bitext_customer_support_en/bitext_customer_support_en.tsv", lambda r: True)],
}


def texts_for(lang: str, split: str, limit: int | None = None, seed: int = 13, min_words: int = 1) -> list[str]:
    """Texts of ``lang`` in ``split`` ('train'/'dev'/'test'), shuffled deterministically."""
    pool: list[str] = []
    for relpath, keep in SOURCES[lang]:
        for i, row in enumerate(read_tsv(relpath)):
            key = f"{relpath}:{row.get('id') or row.get('sentence_id') or i}"
            if keep(row) and split_of(key) == split and len(row["text"].split()) >= min_words:
                pool.append(row["text"])
    random.Random(seed).shuffle(pool)
    return pool[:limit] if limit else pool


def crop(text: str, bucket: tuple[int, int] | None, rng: random.Random) -> str:
    """A random run of 1..n words: what short survey answers look like."""
    if bucket is None:
        return text
    words = text.split()
    k = min(len(words), rng.randint(*bucket))
    start = rng.randint(0, len(words) - k)
    return " ".join(words[start : start + k])


# --- public text: extra training rows, combiner calibration and evaluation -------------------
# Per-language public text outside SOURCES: subtitles (XED projections and neutral native lines),
# tweets, news and parliament sentences, banking queries, machine-translated reviews, and
# Norwegian, the distractor the service must keep out of sv/da. Each row has one *part* from a
# stable hash of its key: rows of SHARED_WITH_TRAINING sources are 40% 'train' (the n-gram model
# learns Norwegian, and sv/da subtitles so that "subtitle style" is not a Norwegian cue), 30%
# 'calib', 30% 'eval'; rows of the other sources are never trained on: 50% 'calib', 50% 'eval'.
# 'calib' fits the combiner (service/langid_combiner.py), 'eval' measures everything.
_XED = "xed_emotion/xed_emotion.tsv"
_XED_SV = (_XED, lambda r: r["lang"] == "sv" and r["annotation"] == "projected")
_XED_DA = (_XED, lambda r: r["lang"] == "da" and r["annotation"] == "projected")
_XED_NO = (_XED, lambda r: r["lang"] == "no")
SHARED_WITH_TRAINING = {"sv": [_XED_SV], "da": [_XED_DA], "no": [_XED_NO]}
PUBLIC_SOURCES: dict[str, list[tuple[str, Callable[[Row], bool]]]] = {
    "sv": [_XED_SV, ("swe_sentiment_emoji/swe_sentiment_emoji.tsv", lambda r: True)],
    "da": [_XED_DA, ("lcc_sentiment_da/lcc_sentiment_da.tsv", lambda r: True),
           ("europarl_sentiment_da/europarl_sentiment_da.tsv", lambda r: True)],
    "fi": [(_XED, lambda r: r["lang"] == "fi" and r["annotation"] in ("projected", "native_neutral"))],
    "en": [(_XED, lambda r: r["lang"] == "en" and r["annotation"] == "native_neutral"),
           ("banking77/banking77.tsv", lambda r: True),
           ("scandisent_mt/scandisent_mt_en.tsv", lambda r: True)],
    "no": [_XED_NO],
}
LENGTHS = ("words", "pairs", "sentences")
_WORD = re.compile(r"[^\W\d_]+(?:[-'’][^\W\d_]+)*")


def public_part(key: str, shared_with_training: bool) -> str:
    u = int(hashlib.sha1(f"langid-part:{key}".encode()).hexdigest()[:8], 16) / 2**32
    if shared_with_training:
        return "train" if u < 0.4 else "calib" if u < 0.7 else "eval"
    return "calib" if u < 0.5 else "eval"


def public_texts(lang: str, part: str) -> list[str]:
    """Rows of ``lang``'s PUBLIC_SOURCES in ``part``, shuffled deterministically."""
    pool: list[str] = []
    for relpath, keep in PUBLIC_SOURCES[lang]:
        shared = any(relpath == r and keep is k for r, k in SHARED_WITH_TRAINING.get(lang, []))
        for i, row in enumerate(read_tsv(relpath)):
            if keep(row) and public_part(f"{relpath}:{row.get('id') or i}", shared) == part:
                pool.append(row["text"])
    random.Random(f"{lang}-{part}").shuffle(pool)
    return pool


def _norm(text: str) -> str:
    return " ".join(text.lower().split())


def _clean_tokens(text: str) -> list[str]:
    """Whitespace tokens stripped of surrounding punctuation; '' where a token is not a word."""
    out = []
    for tok in text.split():
        m = _WORD.fullmatch(tok.strip(".,;:!?\"'()[]«»“”‘’-–—…*"))
        out.append(m.group(0) if m else "")
    return out


def _sample_units(texts: list[str], n: int, rng: random.Random, exclude: set[str]) -> dict[str, list[str]]:
    """Unique single words (>= 2 letters), unique pairs of adjacent words, whole sentences (>= 4 words)."""
    words: dict[str, None] = {}
    pairs: dict[str, None] = {}
    sentences: list[str] = []
    for text in texts:
        toks = _clean_tokens(text)
        for t in toks:
            if len(t) >= 2:
                words.setdefault(t)
        for a, b in zip(toks, toks[1:]):
            if a and b:
                pairs.setdefault(f"{a} {b}")
        if len(text.split()) >= 4 and _norm(text) not in exclude:
            sentences.append(text)
    pick = lambda xs: rng.sample(xs, min(n, len(xs)))  # noqa: E731
    return {"words": pick(list(words)), "pairs": pick(list(pairs)), "sentences": pick(sentences)}


def _public_units(part: str, n: int, exclude: set[str]) -> dict[str, dict[str, list[str]]]:
    return {lang: _sample_units(public_texts(lang, part), n, random.Random(f"{lang}-{part}-units"), exclude)
            for lang in PUBLIC_SOURCES}


def public_sets(part: str, n: int = 1000, exclude: set[str] | None = None) -> dict[str, dict[str, list[str]]]:
    """lang -> {'words'|'pairs'|'sentences': up to n texts} from PUBLIC_SOURCES rows in ``part``.

    ``exclude``: normalised texts that may not be used as sentences (what the model trained on).
    A word or pair sampled in both 'calib' and 'eval' is in neither: one the combiner was fitted on
    is no evidence, and leaving it in 'calib' alone would make the calibration words more frequent
    words than the evaluation words (frequent words are the ones both parts sample)."""
    exclude = exclude or set()
    out = _public_units(part, n, exclude)
    if part in ("calib", "eval"):
        other = _public_units("eval" if part == "calib" else "calib", n, exclude)
        for lang, sets in out.items():
            for kind in ("words", "pairs"):
                seen = set(other[lang][kind])
                sets[kind] = [t for t in sets[kind] if t not in seen]
    return out


def in_domain_sets(split: str, n: int = 400) -> dict[str, dict[str, list[str]]]:
    """Held-out review/comment texts of SOURCES ('dev' fits the combiner, 'test' measures it):
    random 1- and 2-word runs (what one-word survey answers look like) and the whole texts."""
    out: dict[str, dict[str, list[str]]] = {}
    for lang in SOURCES:
        texts = texts_for(lang, split, n, min_words=3)
        out[lang] = {kind: [crop(t, bucket, random.Random(f"{lang}-{kind}-{i}")) for i, t in enumerate(texts)]
                     for kind, bucket in (("words", (1, 1)), ("pairs", (2, 2)), ("sentences", None))}
    return out
