"""Measure language identification accuracy per language and text length.

    python -m training.eval_langid [--per-lang 400] [--backend ensemble|lingua|langdetect|all]

Samples held-out (split == 'test') comments per language from ../shared/data, then
evaluates the full comment and word-prefix crops of 1, 2, 3-5 and 6-15 words, which is
what short survey answers look like. Prints a Markdown table (accuracy; 'und' counts as
wrong) used verbatim in the README.
"""

from __future__ import annotations

import argparse
import random
import time
from collections import defaultdict

from service.language import LanguageIdentifier
from training.data import read_tsv, split_of

# (language, dataset file, text column filter)
SOURCES = {
    "sv": [("trustpilot_sv_2025/trustpilot_sv_2025.tsv", lambda r: r.get("lang_heuristic") == "sv")],
    "da": [("trustpilot_da_sentida/trustpilot_da_sentida.tsv", lambda r: True),
           ("sam_da_social/sam_da_social.tsv", lambda r: True)],
    "fi": [("xed_emotion/xed_emotion.tsv", lambda r: r["lang"] == "fi" and r["annotation"] == "native")],
    "en": [("semeval_absa_en/semeval_absa_en_sentences.tsv", lambda r: True),
           ("bitext_customer_support_en/bitext_customer_support_en.tsv", lambda r: True)],
}
BUCKETS = {"1 word": (1, 1), "2 words": (2, 2), "3-5 words": (3, 5), "6-15 words": (6, 15), "full": None}


def sample_texts(lang: str, n: int, seed: int = 13) -> list[str]:
    pool: list[str] = []
    for relpath, keep in SOURCES[lang]:
        for i, row in enumerate(read_tsv(relpath)):
            key = f"{relpath}:{row.get('id') or row.get('sentence_id') or i}"
            if keep(row) and split_of(key) == "test" and len(row["text"].split()) >= 3:
                pool.append(row["text"])
    rng = random.Random(seed)
    rng.shuffle(pool)
    return pool[:n]


def crop(text: str, bucket: tuple[int, int] | None, rng: random.Random) -> str:
    if bucket is None:
        return text
    words = text.split()
    k = min(len(words), rng.randint(*bucket))
    start = rng.randint(0, len(words) - k)
    return " ".join(words[start : start + k])


def evaluate(identifier: LanguageIdentifier, data: dict[str, list[str]]) -> dict[tuple[str, str], float]:
    acc: dict[tuple[str, str], float] = {}
    for bucket_name, bucket in BUCKETS.items():
        for lang, texts in data.items():
            rng = random.Random(f"{lang}-{bucket_name}")
            crops = [crop(t, bucket, rng) for t in texts]
            preds = identifier.predict(crops)
            acc[(lang, bucket_name)] = sum(p == lang for p in preds) / len(preds)
    return acc


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--per-lang", type=int, default=400)
    ap.add_argument("--backend", default="all", choices=["ensemble", "lingua", "langdetect", "all"])
    args = ap.parse_args()
    data = {lang: sample_texts(lang, args.per_lang) for lang in SOURCES}
    backends = ["langdetect", "lingua", "ensemble"] if args.backend == "all" else [args.backend]
    langs = list(SOURCES)
    print(f"held-out texts per language: { {k: len(v) for k, v in data.items()} }\n")
    print("| backend | length | " + " | ".join(langs) + " | mean |")
    print("|---|---|" + "---|" * (len(langs) + 1))
    for backend in backends:
        ident = LanguageIdentifier(backend=backend).fit()
        t0 = time.perf_counter()
        acc = evaluate(ident, data)
        secs = time.perf_counter() - t0
        for bucket_name in BUCKETS:
            vals = [acc[(lang, bucket_name)] for lang in langs]
            cells = " | ".join(f"{v:.3f}" for v in vals)
            print(f"| {backend} | {bucket_name} | {cells} | {sum(vals) / len(vals):.3f} |")
        n = sum(len(v) for v in data.values()) * len(BUCKETS)
        print(f"<!-- {backend}: {n} texts in {secs:.1f}s -->")


if __name__ == "__main__":
    main()
