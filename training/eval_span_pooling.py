"""What pooling sentences and clauses from the comment's own encoder pass changes (issue #11).

    python -m training.eval_span_pooling [--per-language 300] [--json models/themes/span_pooling.json]

Encoding every sentence and clause as its own string costs 2-3x the comment's tokens; pooling their
token states from the comment's pass costs nothing extra, but the states carry the comment's context.
Both uses are measured, in one run, against encoding each span alone:
- sentence sentiment (fine-tuned top): on test-split comments with 2+ sentences, per language, how often
  the pooled sentence gets the same label, and the mean |score| difference; and on the hand-written
  mixed survey answers, how often the comment shows a positive and a negative clause;
- clause theme vectors (pretrained top): on every themes evaluation set (``training/eval_themes.py``),
  the cosine of pooled to alone clause vectors, the top-level ARI, the touchpoints each multi-clause
  comment gets, cross-language agreement of those, and the issue's two example comments, per mode.
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path

import numpy as np

from service.config import Settings
from service.segmentation import ClauseSegmenter, SentenceSplitter
from service.sentiment import load_scorer
from service.sentiment.model import LABELS
from service.themes import ThemeComponents
from service.themes.model import flatten
from training.data import REPO_ROOT
from training.eval_themes import encode, examples, main_labels, scores
from training.sentiment_data import iter_examples
from training.themes_data import sets

HANDWRITTEN = REPO_ROOT / "training" / "data" / "survey_answers_v2.tsv"


def _score(p: np.ndarray) -> float:
    return float(p[LABELS.index("positive")] - p[LABELS.index("negative")])


def span_rows(shared: object, texts: list[str], spans: list[list]) -> tuple[list, list]:
    """Per comment, its spans' probabilities pooled from the comment's pass and encoded alone."""
    pooled = shared.run(texts, [[(s.start, s.end) for s in ss] for ss in spans], [None] * len(texts))[0]
    strings = sorted({s.text for ss in spans for s in ss})
    alone_rows = dict(zip(strings, shared.predict_proba(strings)))
    alone = [np.array([alone_rows[s.text] for s in ss]) for ss in spans]
    return pooled, alone


def sentences(per_language: int) -> dict:
    settings = Settings()
    shared = load_scorer(settings.sentiment_path, settings).shared
    splitter = SentenceSplitter()
    by_lang: dict[str, list[str]] = defaultdict(list)
    for e in iter_examples():
        if e.split == "test" and len(by_lang[e.lang]) < per_language and len(splitter.split([e.text])[0]) >= 2:
            by_lang[e.lang].append(e.text)
    out: dict = {}
    for lang, texts in sorted(by_lang.items()):
        pooled, alone = span_rows(shared, texts, splitter.split(texts))
        a, b = np.vstack(pooled), np.vstack(alone)
        out[lang] = {"comments": len(texts), "sentences": len(a),
                     "same_label": round(float((a.argmax(1) == b.argmax(1)).mean()), 4),
                     "mean_abs_score_diff": round(float(np.mean([abs(_score(x) - _score(y)) for x, y in zip(a, b)])), 4),
                     "mean_abs_score_alone": round(float(np.mean([abs(_score(y)) for y in b])), 4),
                     "mean_abs_score_pooled": round(float(np.mean([abs(_score(x)) for x in a])), 4)}
    rows = [line.split("\t") for line in HANDWRITTEN.read_text(encoding="utf-8").splitlines()]
    mixed = [r[rows[0].index("text")] for r in rows[1:] if r and r[rows[0].index("kind")] == "mixed"]
    clauses = [[u for u in us if not u.whole] for us in ClauseSegmenter().transform(mixed)]
    keep = [k for k, us in enumerate(clauses) if len(us) >= 2]
    pooled, alone = span_rows(shared, [mixed[k] for k in keep], [clauses[k] for k in keep])

    def both_sides(rows: list) -> int:
        return sum(1 for r in rows if {"positive", "negative"} <= {LABELS[int(i)] for i in r.argmax(1)})

    out["handwritten_mixed_clauses"] = {"comments": len(keep), "both_sides_pooled": both_sides(pooled),
                                        "both_sides_alone": both_sides(alone)}
    return out


def _touchpoint_sets(model: object) -> list[frozenset[str]]:
    """Per comment, the touchpoints of all its themes (ids differ between two fits; touchpoints do not)."""
    rows = model.comment_themes(model.units_, model.unit_hits_, model.n_comments_)
    return [frozenset(tp for c in r if (tp := model.themes_[model.canonical(c.theme)].touchpoint)) for r in rows]


def themes(names: list[str] | None) -> dict:
    """Per set: how close pooled clause vectors are to clauses encoded alone, and what that changes in
    the themes: the top-level ARI (decided by the whole comment, so expected equal), the touchpoints a
    comment gets from all its clauses, and, on parallel sets, whether all four translations get the
    same touchpoints."""
    comps = {mode: ThemeComponents.load(Settings(inference_units=mode)) for mode in ("separate", "spans")}
    out: dict = {}
    for name, (texts, langs, gold, groups) in sets(150).items():
        if names and name not in names:
            continue
        row: dict = {}
        fitted, raw = {}, {}
        for mode, comp in comps.items():
            units, raw[mode] = encode(comp, texts, langs)
            flat = flatten(units)
            X = comp.embedder.centering_.transform(raw[mode], [langs[u.comment] for u in flat])
            fitted[mode] = comp.new_model().fit(texts, langs, units, X)
            if any(gold):
                row[f"ari_top_{mode}"] = scores(main_labels(fitted[mode]), gold)["ari"]
        clause = np.array([not u.whole for u in flat])
        a, b = raw["spans"][clause], raw["separate"][clause]
        cos = (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
        sets_ = {m: _touchpoint_sets(f) for m, f in fitted.items()}
        multi = [i for i in range(len(texts)) if sum(1 for u in flat if u.comment == i) > 1]
        row.update({"comments": len(texts), "multi_clause_comments": len(multi), "clauses": int(clause.sum()),
                    "clause_cosine_mean": round(float(cos.mean()), 4) if len(cos) else None,
                    "clause_cosine_p10": round(float(np.quantile(cos, 0.1)), 4) if len(cos) else None,
                    "same_touchpoints_multi_clause": round(float(np.mean(
                        [sets_["spans"][i] == sets_["separate"][i] for i in multi])), 4) if multi else None,
                    "mean_touchpoints_multi_clause": {m: round(float(np.mean([len(v[i]) for i in multi])), 3)
                                                      for m, v in sets_.items()} if multi else None})
        if groups is not None:
            by: dict[str, list[int]] = defaultdict(list)
            for i, g in enumerate(groups):
                by[g].append(i)
            row["all_four_same_touchpoints"] = {m: round(float(np.mean([len({v[i] for i in ix}) == 1 for ix in by.values()])), 4)
                                                for m, v in sets_.items()}
        out[name] = row
        print(name, json.dumps(row), flush=True)
    out["issue_examples"] = {m: {t: e["got"] for t, e in examples(c).items()} for m, c in comps.items()}
    return out


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--per-language", type=int, default=300)
    ap.add_argument("--sets", nargs="*", default=None, help="only these themes sets")
    ap.add_argument("--parts", nargs="*", choices=["sentence_sentiment", "theme_vectors"],
                    default=["sentence_sentiment", "theme_vectors"], help="re-measure only these (the JSON keeps the rest)")
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args(argv)
    res = json.loads(args.json.read_text()) if args.json and args.json.exists() else {}
    if "sentence_sentiment" in args.parts:
        res["sentence_sentiment"] = sentences(args.per_language)
        print(json.dumps(res["sentence_sentiment"], indent=1), flush=True)
    if "theme_vectors" in args.parts:
        res["theme_vectors"] = themes(args.sets)
    if args.json:
        args.json.write_text(json.dumps(res, indent=2, ensure_ascii=False) + "\n")
    return res


if __name__ == "__main__":
    main()
