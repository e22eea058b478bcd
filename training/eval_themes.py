"""Measure theme clustering: agreement with labelled data and across languages.

    python -m training.eval_themes [--per-label 150] [--json PATH] [--ablations]

Sets (all English except the hand-made parallel set and the Swedish Trustpilot set):
1. ``tests/data/themes_parallel.tsv``: 72 realistic survey comments, each written in sv/da/fi/en
   (288 rows), gold = touchpoint. Cross-language agreement = share of the 72 groups whose four
   versions get the same primary theme (and the share of cross-language pairs that agree).
   This set was used while writing the lexicon (a dev set); ``themes_parallel_holdout.tsv``
   (24 groups x 4 languages) was written after the lexicon was frozen and is never tuned on.
2. bitext_customer_support_en: 11 CX categories (stratified sample, split == deterministic hash 'test').
3. semeval_absa_en: 2015 restaurants + hotels test sentences with exactly one entity (domain:entity).
4. banking77 test: 77 intents grouped into 7 coarse themes (card, transfer, top-up, cash/ATM,
   account/identity, fees/exchange, refund/payment).
5. trustpilot_sv_neutral_2023: the business's industry category (weak signal; themes != industry).
For each: ThemeModel with automatic k and with k = number of gold labels, against a baseline of
char n-gram TF-IDF + k-means (k = gold labels). Prints Markdown tables used in the README.
ARI / V-measure are computed over every comment, unassigned ones counted as one extra cluster.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from itertools import combinations
from pathlib import Path

import numpy as np
from sklearn.cluster import KMeans
from sklearn.decomposition import TruncatedSVD
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics import adjusted_rand_score, v_measure_score
from sklearn.preprocessing import normalize

from service.config import Settings
from service.themes import ThemeModel, load_taxonomy, params_from_settings
from service.themes.lexicon import ConceptVectorizer, l2_normalize
from training.data import REPO_ROOT, read_tsv

PARALLEL = REPO_ROOT / "tests" / "data" / "themes_parallel.tsv"
HOLDOUT = REPO_ROOT / "tests" / "data" / "themes_parallel_holdout.tsv"

Dataset = tuple[list[str], list[str], list[str]]  # texts, languages, gold labels


def load_parallel(path: Path = PARALLEL) -> tuple[list[str], list[str], list[str], list[str]]:
    """(texts, languages, gold themes, group ids) of the hand-made parallel set."""
    with path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t", quoting=csv.QUOTE_NONE))
    return [r["text"] for r in rows], [r["lang"] for r in rows], [r["theme"] for r in rows], [r["group"] for r in rows]


def _stratified(rows: list[tuple[str, str]], per_label: int, key: str) -> Dataset:
    by: dict[str, list[str]] = defaultdict(list)
    for label, text in rows:
        by[label].append(text)
    texts, gold = [], []
    for label in sorted(by):
        chosen = sorted(by[label], key=lambda t: hashlib.sha1(f"{key}:{t}".encode()).hexdigest())[:per_label]
        texts += chosen
        gold += [label] * len(chosen)
    return texts, ["en"] * len(texts), gold


def load_bitext(per_label: int) -> Dataset:
    rows = [(r["category"].replace("INVOICES", "INVOICE").replace("REFUNDS", "REFUND").replace("SHIPPING_ADDRESS", "SHIPPING"),
             r["text"]) for r in read_tsv("bitext_customer_support_en/bitext_customer_support_en.tsv")]
    return _stratified(rows, per_label, "bitext")


def load_semeval() -> Dataset:
    texts, gold = [], []
    for r in read_tsv("semeval_absa_en/semeval_absa_en_sentences.tsv"):
        if (r["edition"] == "semeval2015" and r["split"] == "test" and r["domain"] in ("restaurants", "hotels")
                and r["entities"] and "|" not in r["entities"]):
            texts.append(r["text"])
            gold.append(f"{r['domain']}:{r['entities']}")
    return texts, ["en"] * len(texts), gold


_BANKING_COARSE: list[tuple[str, str]] = [
    ("refund", "refund_payment"), ("top_up", "top_up"), ("topping_up", "top_up"), ("transfer", "transfer"),
    ("beneficiary", "transfer"), ("receiving_money", "transfer"), ("cash", "cash_atm"), ("atm", "cash_atm"),
    ("exchange", "fees_exchange"), ("fee", "fees_exchange"), ("charge", "fees_exchange"),
    ("verify", "account_identity"), ("identity", "account_identity"), ("passcode", "account_identity"),
    ("personal_details", "account_identity"), ("terminate_account", "account_identity"), ("age_limit", "account_identity"),
    ("lost_or_stolen_phone", "account_identity"), ("pin", "card"), ("card", "card"), ("contactless", "card"),
    ("visa", "card"), ("apple_pay", "card"), ("payment", "refund_payment"), ("direct_debit", "refund_payment"),
    ("balance", "transfer"), ("country_support", "account_identity"), ("currency", "fees_exchange"),
]


def banking_coarse(label: str) -> str:
    for needle, coarse in _BANKING_COARSE:
        if needle in label.lower():
            return coarse
    return "other"


def load_banking() -> Dataset:
    rows = [r for r in read_tsv("banking77/banking77.tsv") if r["split"] == "test"]
    return [r["text"] for r in rows], ["en"] * len(rows), [banking_coarse(r["label"]) for r in rows]


def load_trustpilot_sv(per_label: int) -> Dataset:
    rows = [(r["category"], r["text"]) for r in read_tsv("trustpilot_sv_neutral_2023/trustpilot_sv_neutral_2023.tsv")
            if r["lang_heuristic"] == "sv"]
    counts = Counter(c for c, _ in rows)
    rows = [(c, t) for c, t in rows if counts[c] >= 100]
    texts, _, gold = _stratified(rows, per_label, "tp-sv")
    return texts, ["sv"] * len(texts), gold


def cluster_ours(settings: Settings, n_themes: int | None) -> Callable[[Sequence[str], Sequence[str]], list[int]]:
    tax = load_taxonomy(settings.themes_path)

    def run(texts: Sequence[str], langs: Sequence[str]) -> list[int]:
        model = ThemeModel(tax, params_from_settings(settings)).fit(texts, langs, n_themes=n_themes)
        run.model = model  # type: ignore[attr-defined]
        return [a[0].theme if a else -1 for a in model.assignments_]

    return run


def cluster_charngram(k: int) -> Callable[[Sequence[str], Sequence[str]], list[int]]:
    def run(texts: Sequence[str], langs: Sequence[str]) -> list[int]:
        X = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True, min_df=2).fit_transform(texts)
        return KMeans(n_clusters=k, n_init=4, random_state=0).fit_predict(X).tolist()

    return run


def cluster_plain(settings: Settings, k: int, char_weight: float) -> Callable[[Sequence[str], Sequence[str]], list[int]]:
    """Ablation: unseeded k-means++ on concept features, optionally plus char n-gram SVD features."""
    vec = ConceptVectorizer(load_taxonomy(settings.themes_path).lexicon)

    def run(texts: Sequence[str], langs: Sequence[str]) -> list[int]:
        X = l2_normalize(vec.transform(texts, langs))
        if char_weight > 0:
            C = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True, min_df=2).fit_transform(texts)
            Z = normalize(TruncatedSVD(100, random_state=0).fit_transform(C))
            X = np.hstack([X, char_weight * Z])
        return KMeans(n_clusters=k, n_init=4, random_state=0).fit_predict(X).tolist()

    return run


def ablations(settings: Settings) -> dict:
    """Seeded vs k-means++ and concept-only vs concept + char n-gram features, all at k = gold labels."""
    sets: dict[str, tuple[list[str], list[str], list[str], list[str] | None]] = {
        "parallel dev": load_parallel(PARALLEL), "parallel held-out": load_parallel(HOLDOUT)}
    for name, loader in [("bitext", lambda: load_bitext(150)), ("semeval", load_semeval)]:
        try:
            t, l, g = loader()
            sets[name] = (t, l, g, None)
        except FileNotFoundError:
            pass
    out: dict = {}
    for name, (texts, langs, gold, groups) in sets.items():
        k = len(set(gold))
        for method, fn in [("seeded (shipped), k=gold", cluster_ours(settings, k)),
                           ("k-means++ concepts", cluster_plain(settings, k, 0.0)),
                           ("k-means++ concepts + char n-grams", cluster_plain(settings, k, 1.0))]:
            pred = fn(texts, langs)
            r = scores(pred, gold)
            if groups is not None:
                r["groups_all_same"] = cross_language(pred, groups, langs)["groups_all_same"]
            out[f"{name} | {method}"] = r
    return out


def scores(pred: Sequence[int], gold: Sequence[str]) -> dict[str, float]:
    return {
        "ari": round(adjusted_rand_score(gold, pred), 3),
        "v_measure": round(v_measure_score(gold, pred), 3),
        "unassigned": round(sum(p < 0 for p in pred) / len(pred), 3),
        "n_clusters": len({p for p in pred if p >= 0}),
    }


def cross_language(pred: Sequence[int], groups: Sequence[str], langs: Sequence[str]) -> dict[str, float]:
    """Share of parallel groups whose versions all share one (assigned) theme, and of agreeing pairs."""
    by: dict[str, list[int]] = defaultdict(list)
    for p, g in zip(pred, groups):
        by[g].append(p)
    full = sum(len(set(v)) == 1 and v[0] >= 0 for v in by.values()) / len(by)
    pairs = [(a, b) for v in by.values() for a, b in combinations(v, 2)]
    pair = sum(a == b and a >= 0 for a, b in pairs) / len(pairs)
    per_lang_pair: dict[str, list[bool]] = defaultdict(list)
    idx: dict[str, dict[str, int]] = defaultdict(dict)
    for p, g, l in zip(pred, groups, langs):
        idx[g][l] = p
    for d in idx.values():
        for a, b in combinations(sorted(d), 2):
            per_lang_pair[f"{a}-{b}"].append(d[a] == d[b] and d[a] >= 0)
    out = {"groups_all_same": round(full, 3), "pairs_same": round(pair, 3)}
    out.update({k: round(sum(v) / len(v), 3) for k, v in sorted(per_lang_pair.items())})
    return out


def touchpoint_accuracy(settings: Settings, texts: list[str], langs: list[str], gold: list[str]) -> dict[str, float]:
    """Real-time assigner (taxonomy only, no clustering): is the top touchpoint the gold one?"""
    tax = load_taxonomy(settings.themes_path)
    model = ThemeModel.from_taxonomy(tax, params_from_settings(settings))
    preds = model.predict(texts, langs)
    keys = set(tax.by_key)
    rows = [(p, g) for p, g in zip(preds, gold) if g in keys]
    top1 = sum(bool(p) and model.themes[p[0].theme].touchpoint == g for p, g in rows) / len(rows)
    anyk = sum(any(model.themes[a.theme].touchpoint == g for a in p) for p, g in rows) / len(rows)
    none = sum(not p for p, _ in rows) / len(rows)
    return {"top1": round(top1, 3), "in_assigned": round(anyk, 3), "unassigned": round(none, 3), "n": len(rows)}


def evaluate_parallel(settings: Settings, path: Path) -> dict:
    texts, langs, gold, groups = load_parallel(path)
    k = len(set(gold))
    par: dict = {}
    for name, fn in [("themes (auto k)", cluster_ours(settings, None)), (f"themes (k={k})", cluster_ours(settings, k)),
                     (f"char n-gram k-means (k={k})", cluster_charngram(k))]:
        pred = fn(texts, langs)
        par[name] = {**scores(pred, gold), **cross_language(pred, groups, langs)}
    par["taxonomy assigner, touchpoint accuracy"] = touchpoint_accuracy(settings, texts, langs, gold)
    par["groups"] = len(set(groups))
    return par


def print_parallel(title: str, par: dict) -> None:
    print(f"\n### {title} ({par['groups']} comments x 4 languages)\n")
    print("| method | ARI | V-measure | themes | unassigned | all 4 languages same theme | cross-language pairs same |")
    print("|---|---|---|---|---|---|---|")
    for name, r in par.items():
        if isinstance(r, dict) and "ari" in r:
            print(f"| {name} | {r['ari']} | {r['v_measure']} | {r['n_clusters']} | {r['unassigned']} | "
                  f"{r['groups_all_same']} | {r['pairs_same']} |")
    acc = par["taxonomy assigner, touchpoint accuracy"]
    print(f"\nReal-time taxonomy assigner (no clustering), n={acc['n']} with a taxonomy touchpoint: "
          f"top-1 touchpoint {acc['top1']}, gold among assigned {acc['in_assigned']}, unassigned {acc['unassigned']}")
    pl = par["themes (auto k)"]
    print("Per language pair (auto k): " + ", ".join(f"{k} {v}" for k, v in pl.items() if "-" in k and len(k) == 5))


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--per-label", type=int, default=150, help="comments per label for bitext / trustpilot samples")
    ap.add_argument("--json", type=Path, help="also write the numbers here")
    ap.add_argument("--ablations", action="store_true", help="also compare seeding and char n-gram features")
    args = ap.parse_args(argv)
    settings = Settings()
    results: dict = {}
    t0 = time.perf_counter()

    results["parallel"] = evaluate_parallel(settings, PARALLEL)
    results["parallel_holdout"] = evaluate_parallel(settings, HOLDOUT)

    datasets: dict[str, Dataset] = {}
    loaders: list[tuple[str, Callable[[], Dataset]]] = [
        ("bitext_customer_support_en", lambda: load_bitext(args.per_label)),
        ("semeval_absa_en (2015 test, 1 entity)", load_semeval),
        ("banking77 test (7 coarse)", load_banking),
        ("trustpilot_sv_neutral_2023 (industry)", lambda: load_trustpilot_sv(args.per_label // 2)),
    ]
    for name, loader in loaders:
        try:
            datasets[name] = loader()
        except FileNotFoundError as exc:
            print(f"skipping {name}: {exc}")
    ext: dict = {}
    for name, (texts, langs, gold) in datasets.items():
        k = len(set(gold))
        ext[name] = {"n": len(texts), "labels": k}
        for label, fn in [("auto", cluster_ours(settings, None)), ("k=gold", cluster_ours(settings, k)),
                          ("char k-means k=gold", cluster_charngram(k))]:
            ext[name][label] = scores(fn(texts, langs), gold)
    results["labelled"] = ext
    results["seconds"] = round(time.perf_counter() - t0, 1)

    print_parallel("Parallel sv/da/fi/en dev set", results["parallel"])
    print_parallel("Parallel sv/da/fi/en held-out set", results["parallel_holdout"])
    print("\n### Labelled single-language sets\n")
    print("| data | n | gold labels | method | ARI | V-measure | themes | unassigned |")
    print("|---|---|---|---|---|---|---|---|")
    for name, r in ext.items():
        for m in ("auto", "k=gold", "char k-means k=gold"):
            s = r[m]
            print(f"| {name} | {r['n']} | {r['labels']} | {m} | {s['ari']} | {s['v_measure']} | {s['n_clusters']} | {s['unassigned']} |")
    if args.ablations:
        results["ablations"] = ablations(settings)
        print("\n### Ablations (k = number of gold labels)\n")
        print("| data | method | ARI | V-measure | all 4 languages same theme |")
        print("|---|---|---|---|---|")
        for key, r in results["ablations"].items():
            print(f"| {key} | {r['ari']} | {r['v_measure']} | {r.get('groups_all_same', '–')} |")
    results["seconds"] = round(time.perf_counter() - t0, 1)
    print(f"\n({results['seconds']} s)")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, ensure_ascii=False), encoding="utf-8")
    return results


if __name__ == "__main__":
    main()
