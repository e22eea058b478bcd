"""Measure language identification accuracy per language and text length.

    python -m training.eval_langid [--per-lang 400] [--backend ensemble|charngram|lingua|langdetect|all]

Two test sets:
1. held-out (split == 'test') review/comment texts per language from ../shared/data,
   whole and as random runs of 1, 2, 3-5 and 6-15 words (what short survey answers
   look like); never seen by ``training/train_langid.py``, which uses 'train' rows only;
2. ``tests/data/langid_short.tsv``: hand-written short survey answers in sv/da/fi/en plus
   Norwegian, German and Dutch sentences that must NOT be reported as sv/da/fi/en.
Prints Markdown tables (accuracy; 'und' counts as wrong) used verbatim in the README.
"""

from __future__ import annotations

import argparse
import csv
import random
import time

from service.language import LanguageIdentifier
from training.data import REPO_ROOT
from training.langid_data import SOURCES, crop, texts_for

BUCKETS = {"1 word": (1, 1), "2 words": (2, 2), "3-5 words": (3, 5), "6-15 words": (6, 15), "full": None}
SHORT_SET = REPO_ROOT / "tests" / "data" / "langid_short.tsv"
CONFIGURED = ("sv", "da", "fi", "en")


def evaluate_heldout(identifier: LanguageIdentifier, data: dict[str, list[str]]) -> dict[tuple[str, str], float]:
    acc: dict[tuple[str, str], float] = {}
    for bucket_name, bucket in BUCKETS.items():
        for lang, texts in data.items():
            rng = random.Random(f"{lang}-{bucket_name}")
            preds = identifier.predict([crop(t, bucket, rng) for t in texts])
            acc[(lang, bucket_name)] = sum(p == lang for p in preds) / len(preds)
    return acc


def evaluate_short_set(identifier: LanguageIdentifier) -> dict[str, tuple[int, int]]:
    """lang -> (correct, total); for non-configured languages 'correct' = not forced into sv/da/fi/en."""
    with SHORT_SET.open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t"))
    preds = identifier.predict([r["text"] for r in rows])
    out: dict[str, tuple[int, int]] = {}
    for r, p in zip(rows, preds):
        key = r["lang"] if r["lang"] in CONFIGURED else "other (no/de/nl)"
        ok = p == r["lang"] if r["lang"] in CONFIGURED else p not in CONFIGURED
        c, n = out.get(key, (0, 0))
        out[key] = (c + int(ok), n + 1)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--per-lang", type=int, default=400)
    ap.add_argument("--backend", default="all", choices=["ensemble", "charngram", "lingua", "langdetect", "all"])
    ap.add_argument("--lingua-low-accuracy", action="store_true", help="lingua's trigram-only mode (less RAM)")
    args = ap.parse_args()
    data = {lang: texts_for(lang, "test", args.per_lang, min_words=3) for lang in SOURCES}
    backends = ["langdetect", "lingua", "charngram", "ensemble"] if args.backend == "all" else [args.backend]
    langs = list(SOURCES)
    print(f"held-out texts per language: { {k: len(v) for k, v in data.items()} }\n")
    print("| backend | length | " + " | ".join(langs) + " | mean |")
    print("|---|---|" + "---|" * (len(langs) + 1))
    short: dict[str, dict[str, tuple[int, int]]] = {}
    for backend in backends:
        ident = LanguageIdentifier(backend=backend, lingua_high_accuracy=not args.lingua_low_accuracy).fit()
        t0 = time.perf_counter()
        acc = evaluate_heldout(ident, data)
        secs = time.perf_counter() - t0
        for bucket_name in BUCKETS:
            vals = [acc[(lang, bucket_name)] for lang in langs]
            cells = " | ".join(f"{v:.3f}" for v in vals)
            print(f"| {backend} | {bucket_name} | {cells} | {sum(vals) / len(vals):.3f} |")
        n = sum(len(v) for v in data.values()) * len(BUCKETS)
        print(f"<!-- {backend}: {n} texts in {secs:.1f}s = {n / secs:.0f} texts/s -->")
        short[backend] = evaluate_short_set(ident)
    keys = [*CONFIGURED, "other (no/de/nl)"]
    print(f"\nHand-written short survey answers ({SHORT_SET.relative_to(REPO_ROOT)}):\n")
    print("| backend | " + " | ".join(keys) + " |")
    print("|---|" + "---|" * len(keys))
    for backend, res in short.items():
        print(f"| {backend} | " + " | ".join(f"{res[k][0]}/{res[k][1]}" for k in keys) + " |")


if __name__ == "__main__":
    main()
