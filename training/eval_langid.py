"""Measure language identification per language and length, for every backend, in one run.

    python -m training.eval_langid [--skip-memory] [--model-dir models/langid]

Test sets (none of it seen by the n-gram model, which trains on training/train_langid.py's
set, nor by the combiner, fitted on the 'calib'/'dev' parts by training/fit_langid_combiner.py):
1. public per-language text, 'eval' part (training/langid_data.py): up to 1,000 unique single
   words, 1,000 unique word pairs and 1,000 sentences per language, sv/da/fi/en and Norwegian
   ('no', which must be kept out of sv/da/fi/en);
2. held-out reviews/comments (split == 'test'): 400 per language, as a random single word, a
   random pair of adjacent words, and whole;
3. ``tests/data/langid_short.tsv``: hand-written short survey answers, Norwegian/German/Dutch
   that must not be reported as sv/da/fi/en, and 'und' rows (emoji-only, words shared by
   several languages); the optional third column lists other accepted answers. Scored without
   hints and with the survey's expected language as hint (see ``short_hint``);
4. ``training/langid_short_dev.tsv``: a separate hand-written dev list of short answers (sv/da/no,
   one-word fi/en, and truly ambiguous one-word 'und' rows; none in the set above), what changes
   are checked on, so that the set above stays a test set.
Baselines: plain lingua (its top language, never 'und') restricted to the same candidates as the
service (configured + distractors, Bokmål/Nynorsk folded to 'no'), in both lingua modes, lingua restricted to sv/da/fi/en/nb/nn,
langdetect and the n-gram model alone. 'und' counts as wrong except where stated. A cell of the
ensemble is marked ▼ when lingua-restricted (same mode) lies above the ensemble's 95% Wilson
binomial interval, ▲ when it lies below it. Prints Markdown used verbatim in the README.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import subprocess
import sys
import time
from pathlib import Path

from service.language import LanguageIdentifier
from training.data import REPO_ROOT
from training.langid_data import LENGTHS, in_domain_sets, public_sets
from training.train_langid import trained_texts

SHORT_SET = REPO_ROOT / "tests" / "data" / "langid_short.tsv"
# Hand-written dev list of short answers, none of them in SHORT_SET: what changes were
# checked on, so that SHORT_SET stays a test set.
SHORT_DEV_SET = REPO_ROOT / "training" / "langid_short_dev.tsv"
CONFIGURED = ("sv", "da", "fi", "en")
BATCH = 256
TIMING_STRIDE = 4  # speed is measured on every 4th test text ...
TIMING_ROUNDS = 3  # ... best of 3 rounds
# name -> (LanguageIdentifier kwargs, same-mode lingua baseline)
BACKENDS: dict[str, dict] = {
    "langdetect": {"backend": "langdetect"},
    "lingua-restricted": {"backend": "lingua", "min_confidence": 0.0},
    "lingua-restricted, low-memory": {"backend": "lingua", "lingua_high_accuracy": False, "min_confidence": 0.0},
    "lingua sv/da/fi/en/no only": {"backend": "lingua", "distractors": ("nb", "nn"), "min_confidence": 0.0},
    "charngram": {"backend": "charngram"},
    "ensemble": {"backend": "ensemble"},
    "ensemble, low-memory": {"backend": "ensemble", "lingua_high_accuracy": False},
    "ensemble, no Norwegian prior": {"backend": "ensemble", "norwegian_prior": False},
}
BASELINE_OF = {"ensemble": "lingua-restricted", "ensemble, low-memory": "lingua-restricted, low-memory",
               "ensemble, no Norwegian prior": "lingua-restricted"}


def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    if n == 0:
        return 0.0, 1.0
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return centre - half, centre + half


def predict(ident: LanguageIdentifier, texts: list[str]) -> list[str]:
    out: list[str] = []
    for i in range(0, len(texts), BATCH):
        out += ident.predict(texts[i : i + BATCH])
    return out


def score_sets(ident: LanguageIdentifier, sets: dict[str, dict[str, list[str]]]) -> tuple[dict, int]:
    """(lang|'no out'|'no out of sv/da', length) -> (correct, n); Norwegian: correct = 'no',
    'no out' = not sv/da/fi/en, 'no out of sv/da' = neither sv nor da."""
    res: dict[tuple[str, str], tuple[int, int]] = {}
    n_texts = 0
    for lang, by_len in sets.items():
        for length in LENGTHS:
            texts = by_len[length]
            preds = predict(ident, texts)
            n_texts += len(texts)
            res[(lang, length)] = (sum(p == lang for p in preds), len(texts))
            if lang not in CONFIGURED:
                res[(f"{lang} out", length)] = (sum(p not in CONFIGURED for p in preds), len(texts))
                res[(f"{lang} out of sv/da", length)] = (sum(p not in ("sv", "da") for p in preds), len(texts))
    return res, n_texts


def short_rows(path: Path = SHORT_SET) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh, delimiter="\t"))


def short_key(lang: str) -> str:
    return lang if lang in (*CONFIGURED, "und") else "other (no/de/nl)"


def short_ok(row: dict[str, str], pred: str) -> bool:
    accepted = {row["lang"], *filter(None, (row.get("accept") or "").split(","))}
    if row["lang"] in (*CONFIGURED, "und"):
        return pred in accepted
    return pred not in CONFIGURED


def short_hint(row: dict[str, str]) -> str | None:
    """The survey's expected language: the row's own for sv/da/fi/en; for Norwegian/German/Dutch
    the nearest configured one (a Norwegian answering a Danish survey); none for 'und' rows."""
    return row["lang"] if row["lang"] in CONFIGURED else None if row["lang"] == "und" else \
        {"no": "da", "de": "da", "nl": "da"}.get(row["lang"], "sv")


def evaluate_short_set(ident: LanguageIdentifier, hints: bool = False, path: Path = SHORT_SET) -> dict[str, tuple[int, int]]:
    rows = short_rows(path)
    texts = [r["text"] for r in rows]
    preds = [r.code for r in ident.transform(texts, [short_hint(r) for r in rows])] if hints else ident.predict(texts)
    out: dict[str, tuple[int, int]] = {}
    for r, p in zip(rows, preds):
        c, n = out.get(short_key(r["lang"]), (0, 0))
        out[short_key(r["lang"])] = (c + short_ok(r, p), n + 1)
    return out


def measure_speed(idents: dict[str, LanguageIdentifier], texts: list[str]) -> dict[str, tuple[int, float]]:
    """name -> (texts, best seconds over TIMING_ROUNDS rounds in which every backend takes one turn)."""
    best = {name: math.inf for name in idents}
    for _ in range(TIMING_ROUNDS):
        for name, ident in idents.items():
            if ident._charngram is not None:
                ident._charngram._word_cache.clear()  # every text new, as in a first batch
            t0 = time.perf_counter()
            predict(ident, texts)
            best[name] = min(best[name], time.perf_counter() - t0)
    return {name: (len(texts), secs) for name, secs in best.items()}


_MEMORY_SNIPPET = """
import json, sys
def rss():
    for line in open('/proc/self/status'):
        if line.startswith('VmRSS'):
            return int(line.split()[1]) / 1024
import numpy, sklearn.feature_extraction.text, scipy.special, lingua  # imports are not the model
import time
from service.language import LanguageIdentifier
before, t0 = rss(), time.perf_counter()
ident = LanguageIdentifier(**json.loads(sys.argv[1])).fit()
load = time.perf_counter() - t0
ident.predict(["Bra service", "Der Kundenservice war sehr freundlich und hilfsbereit."])
print(json.dumps([load, rss() - before]))
"""


def load_and_memory(kwargs: dict) -> tuple[float, float]:
    """Seconds to load and resident MiB the loaded detector adds, measured in a fresh interpreter."""
    out = subprocess.run([sys.executable, "-c", _MEMORY_SNIPPET, json.dumps(kwargs)], cwd=REPO_ROOT,
                         capture_output=True, text=True, check=True)
    load, mib = json.loads(out.stdout.strip().splitlines()[-1])
    return load, mib


def cell(res: dict, key: tuple[str, str], base: dict | None) -> str:
    k, n = res[key]
    text = f"{k / n:.3f}"
    if base is not None:
        lo, hi = wilson(k, n)
        bk, bn = base[key]
        if bk / bn > hi:
            text += " ▼"
        elif bk / bn < lo:
            text += " ▲"
    return text


def print_table(title: str, results: dict[str, dict], langs: list[str]) -> None:
    print(f"\n{title}\n")
    print("| backend | length | " + " | ".join(langs) + " |")
    print("|---|---|" + "---|" * len(langs))
    for name, res in results.items():
        base = results.get(BASELINE_OF.get(name, ""))
        for length in LENGTHS:
            print(f"| {name} | {length} | " + " | ".join(cell(res, (lang, length), base) for lang in langs) + " |")


def print_noise(sets: dict[str, dict[str, list[str]]], results: dict) -> None:
    """Half-width of the 95% binomial interval per cell of the ensemble."""
    res = results["ensemble"]
    parts = []
    for length in LENGTHS:
        widths = []
        for key in (k for k in res if k[1] == length):
            lo, hi = wilson(*res[key])
            widths.append((hi - lo) / 2)
        parts.append(f"{length} ±{min(widths):.3f}–{max(widths):.3f}")
    print("\n95% Wilson interval half-widths of the ensemble's cells: " + "; ".join(parts))


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--skip-memory", action="store_true", help="do not measure resident memory per backend")
    ap.add_argument("--model-dir", type=Path, default=None, help="models/langid unless given (a candidate's artefacts)")
    args = ap.parse_args(argv)
    if args.model_dir is not None:
        for kwargs in BACKENDS.values():
            kwargs["model_dir"] = str(args.model_dir)
    exclude = trained_texts()
    public = public_sets("eval", exclude=exclude)
    reviews = in_domain_sets("test")
    print("public texts per language and length: "
          + ", ".join(f"{lang} {'/'.join(str(len(v[n])) for n in LENGTHS)}" for lang, v in public.items()))
    print("held-out reviews/comments per language and length: "
          + ", ".join(f"{lang} {'/'.join(str(len(v[n])) for n in LENGTHS)}" for lang, v in reviews.items()))
    pub_res: dict[str, dict] = {}
    rev_res: dict[str, dict] = {}
    short: dict[str, dict] = {}
    dev: dict[str, dict] = {}
    idents: dict[str, LanguageIdentifier] = {}
    for name, kwargs in BACKENDS.items():
        ident = idents[name] = LanguageIdentifier(**kwargs).fit()
        pub_res[name], _ = score_sets(ident, public)
        rev_res[name], _ = score_sets(ident, reviews)
        short[name] = evaluate_short_set(ident)
        short[f"{name}, with hints"] = evaluate_short_set(ident, hints=True)
        dev[name] = evaluate_short_set(ident, path=SHORT_DEV_SET)
    timing_texts = [t for sets in (public, reviews) for by_len in sets.values() for n in LENGTHS for t in by_len[n]]
    speed = measure_speed(idents, timing_texts[::TIMING_STRIDE])
    langs = [*CONFIGURED, "no", "no out", "no out of sv/da"]
    print_table("Public per-language text (accuracy; 'no out' = Norwegian not reported as sv/da/fi/en; "
                "'no out of sv/da' = not reported as sv or da, the issue's criterion):",
                pub_res, langs)
    print_table("Held-out reviews/comments (accuracy):", rev_res, list(CONFIGURED))
    print_noise(public, pub_res)
    keys = [*CONFIGURED, "other (no/de/nl)", "und"]
    print(f"\nHand-written short survey answers ({SHORT_SET.relative_to(REPO_ROOT)}):\n")
    print("| backend | " + " | ".join(keys) + " |")
    print("|---|" + "---|" * len(keys))
    for name, res in short.items():
        print(f"| {name} | " + " | ".join(f"{res[k][0]}/{res[k][1]}" for k in keys) + " |")
    dev_keys = [k for k in (*CONFIGURED, "other (no/de/nl)", "und") if k in next(iter(dev.values()))]
    print(f"\nHand-written dev list of short answers ({SHORT_DEV_SET.relative_to(REPO_ROOT)}, no hints; "
          "changes were checked on it, not on the set above):\n")
    print("| backend | " + " | ".join(dev_keys) + " |")
    print("|---|" + "---|" * len(dev_keys))
    for name, res in dev.items():
        print(f"| {name} | " + " | ".join(f"{res[k][0]}/{res[k][1]}" for k in dev_keys) + " |")
    print(f"\nSpeed (every {TIMING_STRIDE}th test text above, batches of 256, one process; every text new to the "
          f"n-gram model's word cache; the backends take turns, best of {TIMING_ROUNDS} rounds, so that other load on "
          "the machine counts as little as possible) and, each in a fresh interpreter, load time and resident memory:\n")
    print("| backend | texts | texts/s | load s | resident MiB |")
    print("|---|---|---|---|---|")
    for name, (n, secs) in speed.items():
        load, mem = ("", "") if args.skip_memory else (f"{x:.1f}" for x in load_and_memory(BACKENDS[name]))
        print(f"| {name} | {n} | {n / secs:.0f} | {load} | {mem} |")


if __name__ == "__main__":
    main()
