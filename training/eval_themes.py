"""Measure themes: agreement with labelled data, across languages, and coverage.

    python -m training.eval_themes [--per-label 150] [--json models/themes/metrics.json]

Sets: ``training/themes_data.py``. Methods, all on the same rows in one run:
- ``e5 themes``: the shipped model (taxonomy mapping + discovery + sub-themes), automatic number of
  themes; scored on the top level (touchpoint / discovered theme) and on the leaf (sub-theme if any);
- ``e5 clusters, k = gold``: the same vectors and clustering stage without the taxonomy, k fixed;
- ``lexicon model (40edf02)``: the model it replaced, stored assignments (``themes_references.py``);
- ``e5 + k-means`` (raw vectors, what a user would try first), word TF-IDF + k-means and char n-gram
  TF-IDF + k-means, each with k = the number of gold labels.
An alternative main-theme rule (``first_clause_labels``) is scored beside the ablations; on the parallel sets,
whose gold labels are touchpoints, ``touchpoint_hits`` says how often the gold touchpoint is the main theme and
how often it is among the comment's themes. ARI / V-measure count unassigned comments as one extra cluster; the shipped model's ARI minus the lexicon
model's comes with a paired bootstrap 95% interval (``ari_vs_lexicon``). Parallel sets also report how often
all four language versions of a comment share the main theme, and the language bias of the vectors
(nearest neighbour in the same language; translation retrieval) before and after centring.
Encoded vectors are cached under build/themes-cache (keyed by texts, backbone and ``--units``), so
re-runs are fast.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time
from collections import defaultdict
from collections.abc import Sequence
from itertools import combinations
from pathlib import Path

import numpy as np
from sklearn.cluster import KMeans
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics import adjusted_rand_score, v_measure_score

from service.config import Settings
from service.themes import ThemeComponents
from service.themes.clustering import WardThemes
from service.themes.model import ThemeModel, flatten
from service.segmentation import Unit
from training.data import REPO_ROOT
from training.themes_data import sets
from training.themes_references import LEGACY_COMMIT, load_references

CACHE = REPO_ROOT / "build" / "themes-cache"
EXAMPLES = {  # the two comments of issue #10 and the themes each must get
    "Leveransen kom en dag för sent och ingen svarade i kundtjänst.": ("delivery", "customer_service"),
    "Personalen var trevliga men väntetiden i kassan var alldeles för lång.": ("staff", "waiting_time"),
}


def encode(comp: ThemeComponents, texts: Sequence[str], langs: Sequence[str]) -> tuple[list[list[Unit]], np.ndarray]:
    """Units and raw (uncentred) vectors, cached on disk."""
    units = comp.segmenter.transform(texts)
    flat = flatten(units)
    h = hashlib.sha256(f"{comp.embedder.centering_.backbone_sha256_}|{comp.embedder.units}".encode())
    for u in flat:
        h.update(f"{u.text}|{u.start}|{texts[u.comment] if not u.whole else ''}".encode("utf-8", "surrogatepass") + b"\x00")
    path = CACHE / f"{h.hexdigest()[:24]}.npy"
    if path.exists():
        return units, np.load(path)
    raw = comp.embedder.raw_units(texts, units)
    CACHE.mkdir(parents=True, exist_ok=True)
    np.save(path, raw)
    return units, raw


def scores(pred: Sequence[object], gold: Sequence[str]) -> dict[str, float]:
    p = [str(x) for x in pred]
    return {"ari": round(float(adjusted_rand_score(gold, p)), 4), "v_measure": round(float(v_measure_score(gold, p)), 4),
            "n_themes": len({x for x in p if x != "-1"}), "unassigned": round(sum(x == "-1" for x in p) / len(p), 4)}


def cross_language(pred: Sequence[object], groups: Sequence[str], langs: Sequence[str]) -> dict[str, float]:
    by: dict[str, dict[str, str]] = defaultdict(dict)
    for p, g, lang in zip(pred, groups, langs):
        by[g][lang] = str(p)
    full = [v for v in by.values() if len(v) == 4]
    same = [len(set(v.values())) == 1 and "-1" not in v.values() for v in full]
    pairs = [a == b and a != "-1" for v in full for a, b in combinations(v.values(), 2)]
    return {"all_four_same": round(float(np.mean(same)), 4), "pairs_same": round(float(np.mean(pairs)), 4),
            "n_groups": len(full)}


def language_bias(X: np.ndarray, langs: Sequence[str], groups: Sequence[str]) -> dict[str, float]:
    """Nearest neighbour in the same language (lower = less bias) and translation retrieval accuracy."""
    Y = X / np.linalg.norm(X, axis=1, keepdims=True)
    S = Y @ Y.T
    np.fill_diagonal(S, -9.0)
    lang, grp = np.array(langs), np.array(groups)
    nn = S.argmax(axis=1)
    acc = []
    for a in sorted(set(langs)):
        for b in sorted(set(langs)):
            if a != b:
                ia, ib = np.flatnonzero(lang == a), np.flatnonzero(lang == b)
                acc.append(float((grp[ib[S[np.ix_(ia, ib)].argmax(axis=1)]] == grp[ia]).mean()))
    return {"nn_same_language": round(float((lang[nn] == lang).mean()), 4),
            "nn_is_translation": round(float((grp[nn] == grp).mean()), 4),
            "translation_retrieval": round(float(np.mean(acc)), 4)}


def ari_difference(a: Sequence[object], b: Sequence[object], gold: Sequence[str], groups: Sequence[str] | None = None,
                   n_boot: int = 2000, seed: int = 0) -> dict:
    """ARI(a) - ARI(b) with a paired 95% bootstrap interval: both labelings are scored on the same resampled
    comments (resampling whole translation groups where ``groups`` are given, since the four versions of one
    comment are not independent), so the interval says whether a gap is larger than the set's noise."""
    pa, pb, g = np.array([str(x) for x in a]), np.array([str(x) for x in b]), np.array(gold)
    _, of_unit = np.unique(np.asarray(groups) if groups is not None else np.arange(len(g)), return_inverse=True)
    members = [np.flatnonzero(of_unit == k) for k in range(of_unit.max() + 1)]
    rng = np.random.default_rng(seed)
    diffs = []
    for _ in range(n_boot):
        idx = np.concatenate([members[k] for k in rng.integers(0, len(members), len(members))])
        diffs.append(adjusted_rand_score(g[idx], pa[idx]) - adjusted_rand_score(g[idx], pb[idx]))
    lo, hi = np.quantile(diffs, [0.025, 0.975])
    return {"diff": round(float(adjusted_rand_score(g, pa) - adjusted_rand_score(g, pb)), 4),
            "ci95": [round(float(lo), 4), round(float(hi), 4)],
            "resampled": "translation groups" if groups is not None else "comments", "n_boot": n_boot}


def main_labels(model: ThemeModel, leaf: bool = False) -> list[str]:
    rows = model.comment_themes(model.units_, model.unit_hits_, model.n_comments_)
    out = []
    for r in rows:
        if not r:
            out.append("-1")
        else:
            c = r[0]
            out.append(f"{c.theme}.{c.sub}" if leaf and c.sub is not None else str(c.theme))
    return out


def first_clause_labels(model: ThemeModel) -> list[str]:
    """An alternative rule: a multi-clause comment's main theme is its first clause's (survey answers often
    lead with their subject); single-clause comments and clauses without a theme keep the whole comment's."""
    first: dict[int, int] = {}
    for i, u in enumerate(model.units_):
        if not u.whole and u.comment not in first:
            first[u.comment] = i
    out = main_labels(model)
    for k, i in first.items():
        if model.unit_hits_[i]:
            out[k] = str(model.canonical(model.unit_hits_[i][0].theme))
    return out


def touchpoint_hits(model: ThemeModel, gold: Sequence[str]) -> dict[str, float]:
    """Where gold labels are touchpoint keys (the parallel sets): how often the main theme is the gold touchpoint,
    and how often the gold touchpoint is among the comment's themes at all (a comment can name several)."""
    rows = model.comment_themes(model.units_, model.unit_hits_, model.n_comments_)
    themes = [[model.themes_[c.theme].touchpoint for c in r] for r in rows]
    return {"main_is_gold": round(float(np.mean([bool(t) and t[0] == g for t, g in zip(themes, gold)])), 4),
            "gold_among_themes": round(float(np.mean([g in t for t, g in zip(themes, gold)])), 4),
            "mean_themes": round(float(np.mean([len(t) for t in themes])), 2)}


def kmeans(X: object, k: int) -> list[int]:
    return KMeans(n_clusters=k, n_init=4, random_state=0).fit_predict(X).tolist()


def evaluate(comp: ThemeComponents, name: str, texts: list[str], langs: list[str], gold: list[str],
             groups: list[str] | None, legacy: dict[str, list[int]]) -> dict:
    t0 = time.perf_counter()
    units, raw = encode(comp, texts, langs)
    flat = flatten(units)
    ulangs = [langs[u.comment] for u in flat]
    X = comp.embedder.centering_.transform(raw, ulangs)
    whole = np.array([i for i, u in enumerate(flat) if u.whole])
    t_enc = time.perf_counter() - t0
    t0 = time.perf_counter()
    model = comp.new_model().fit(texts, langs, units, X)
    t_fit = time.perf_counter() - t0
    labels = main_labels(model)
    out: dict = {"n": len(texts), "languages": sorted(set(langs)), "encode_s": round(t_enc, 1), "fit_s": round(t_fit, 1),
                 "methods": {}}
    m = out["methods"]
    has_gold = any(gold)
    k = len(set(gold))
    if has_gold:
        m["e5 themes (top level)"] = scores(labels, gold)
        m["e5 themes (leaf)"] = scores(main_labels(model, leaf=True), gold)
        m["ablation: clusters not mapped to touchpoints"] = scores(main_labels(
            comp.new_model(map_clusters=False).fit(texts, langs, units, X)), gold)
        m["ablation: clusters mapped by their centroid alone"] = scores(main_labels(
            comp.new_model(cluster_member_floor=0.0).fit(texts, langs, units, X)), gold)
        m["ablation: no grouping of near-identical comments"] = scores(main_labels(
            comp.new_model(grouping=None).fit(texts, langs, units, X)), gold)
        m["alternative: first clause decides the main theme"] = scores(first_clause_labels(model), gold)
        if k > 1:
            plain = comp.new_model(mapper=None, clustering=WardThemes(n_clusters=k), subclustering=None,
                                   grouping=None, min_theme_size=1, min_theme_share=0.0).fit(texts, langs, units, X)
            m["e5 clusters, no taxonomy, k = gold"] = scores(main_labels(plain), gold)
        m[f"lexicon model ({LEGACY_COMMIT}), auto"] = scores(legacy["auto"], gold)
        out["ari_vs_lexicon"] = ari_difference(labels, legacy["auto"], gold, groups)
        if "k" in legacy:
            m[f"lexicon model ({LEGACY_COMMIT}), k = gold"] = scores(legacy["k"], gold)
        if k > 1:
            m["e5 (raw) + k-means, k = gold"] = scores(kmeans(raw[whole], k), gold)
            word = TfidfVectorizer(sublinear_tf=True, min_df=2).fit_transform(texts)
            m["word TF-IDF + k-means, k = gold"] = scores(kmeans(word, k), gold)
            char = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True, min_df=2).fit_transform(texts)
            char_labels = kmeans(char, k)
            m["char n-gram TF-IDF + k-means, k = gold"] = scores(char_labels, gold)
    else:
        m["e5 themes (top level)"] = {"unassigned": round(labels.count("-1") / len(labels), 4),
                                      "n_themes": len(set(labels) - {"-1"})}
        m[f"lexicon model ({LEGACY_COMMIT}), auto"] = {
            "unassigned": round(sum(x == -1 for x in legacy["auto"]) / len(texts), 4),
            "n_themes": len(set(legacy["auto"]) - {-1})}
    if groups is not None:
        out["touchpoint_hits"] = touchpoint_hits(model, gold)
        out["cross_language"] = {"e5 themes": cross_language(labels, groups, langs),
                                 f"lexicon model ({LEGACY_COMMIT})": cross_language(legacy["auto"], groups, langs),
                                 "char n-gram TF-IDF + k-means": cross_language(char_labels, groups, langs)}
        out["language_bias"] = {"raw e5": language_bias(raw[whole], langs, groups),
                                "language-centred e5": language_bias(X[whole], langs, groups)}
    out["discovered"] = [{"label": th.label, "size": int(sum(1 for r in model.unit_hits_ if r and r[0].theme == j))}
                         for j, th in enumerate(model.themes_) if th.discovered and th.parent is None][:10]
    return out


def examples(comp: ThemeComponents) -> dict:
    model = comp.taxonomy_model()
    rows = model.predict(list(EXAMPLES), ["sv"] * len(EXAMPLES))
    out = {}
    for (text, want), row in zip(EXAMPLES.items(), rows):
        got = [model.themes_[c.theme].touchpoint for c in row]
        out[text] = {"want": list(want), "got": got, "ok": all(w in got for w in want)}
    return out


def print_tables(res: dict) -> None:
    print("\n| set | n | method | ARI | V-measure | themes | unassigned |\n|---|---|---|---|---|---|---|")
    for name, r in res["sets"].items():
        for method, s in r["methods"].items():
            print(f"| {name} | {r['n']} | {method} | {s.get('ari', '–')} | {s.get('v_measure', '–')} | "
                  f"{s['n_themes']} | {s['unassigned']:.1%} |")
    print("\n| set | method | all 4 languages same main theme | cross-language pairs same |\n|---|---|---|---|")
    for name, r in res["sets"].items():
        for method, c in r.get("cross_language", {}).items():
            print(f"| {name} | {method} | {c['all_four_same']:.3f} | {c['pairs_same']:.3f} |")
    print("\n| set | vectors | nearest neighbour same language | nearest neighbour is the translation | "
          "translation retrieval |\n|---|---|---|---|---|")
    for name, r in res["sets"].items():
        for kind, b in r.get("language_bias", {}).items():
            print(f"| {name} | {kind} | {b['nn_same_language']:.3f} | {b['nn_is_translation']:.3f} | "
                  f"{b['translation_retrieval']:.3f} |")
    print("\nissue examples:", json.dumps(res["examples"], ensure_ascii=False))


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--per-label", type=int, default=150)
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--sets", nargs="*", default=None, help="only these sets")
    ap.add_argument("--units", choices=["spans", "separate"], default=Settings().inference_units,
                    help="clause vectors pooled from the comment's pass (the service default) or encoded alone")
    args = ap.parse_args(argv)
    comp = ThemeComponents.load(Settings(inference_units=args.units))
    legacy = load_references()
    res: dict = {"model_version": comp.version, "units": args.units, "sets": {}}
    for name, (texts, langs, gold, groups) in sets(args.per_label).items():
        if args.sets and name not in args.sets:
            continue
        res["sets"][name] = evaluate(comp, name, texts, langs, gold, groups, legacy[name])
        print(name, json.dumps(res["sets"][name]["methods"].get("e5 themes (top level)")), flush=True)
    res["examples"] = examples(comp)
    print_tables(res)
    if args.json:
        args.json.write_text(json.dumps(res, indent=2, ensure_ascii=False) + "\n")
    return res


if __name__ == "__main__":
    main()
