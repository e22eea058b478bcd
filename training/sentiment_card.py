"""Render models/sentiment/MODEL_CARD.md from metrics.json (numbers are never typed by hand)."""

from __future__ import annotations

from pathlib import Path



def fmt_table(header: list[str], rows: list[list]) -> str:
    """A Markdown table; floats shown with 3 decimals."""
    def cell(v: object) -> str:
        return f"{v:.3f}" if isinstance(v, float) else str(v)

    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)

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


def _difference(metrics: dict, lang: str) -> str:
    d = (metrics.get("model_minus_bow_macro_f1") or {}).get(lang)
    return f"{d['difference']:+.3f} [{d['ci95_low']:+.3f}, {d['ci95_high']:+.3f}]" if d else "n/a"


def _lang_table(metrics: dict) -> str:
    rows = []
    for lang, m in metrics["model"]["by_language"].items():
        b = metrics["bow_baseline"]["by_language"][lang]
        win = "yes" if m["macro_f1"] > b["macro_f1"] else "**no**"
        rows.append([f"{LANG_NAMES[lang]} ({lang})", m["n"], m["accuracy"], m["macro_f1"], b["accuracy"], b["macro_f1"],
                     win, _difference(metrics, lang)])
    o, ob = metrics["model"]["overall"], metrics["bow_baseline"]["overall"]
    rows.append(["all", o["n"], o["accuracy"], o["macro_f1"], ob["accuracy"], ob["macro_f1"],
                 "yes" if o["macro_f1"] > ob["macro_f1"] else "**no**", ""])
    return fmt_table(["language", "test n", "model acc", "model macro-F1", "BoW acc", "BoW macro-F1", "model better (F1)",
                      "F1 difference [95% CI]"], rows)


def _source_table(metrics: dict) -> str:
    rows = []
    for source, m in metrics["model"]["by_source"].items():
        b = metrics["bow_baseline"]["by_source"][source]
        length = metrics["length_only_baseline"]["by_source"][source]
        one_class = len(metrics["test_rows_by_source"].get(source, {})) < 2
        rows.append([source, m["n"], m["accuracy"], m["macro_f1"], b["accuracy"], b["macro_f1"],
                     "n/a (one class)" if one_class else length["accuracy"]])
    return fmt_table(["test source", "n", "model acc", "model macro-F1", "BoW acc", "BoW macro-F1", "length-only acc"], rows)


def _length_table(metrics: dict) -> str:
    rows = []
    for lang, buckets in metrics["model"]["by_language_length"].items():
        for bucket, m in buckets.items():
            b = metrics["bow_baseline"]["by_language_length"][lang][bucket]
            length = metrics["length_only_baseline"]["by_language_length"][lang][bucket]
            rows.append([lang, bucket, m["n"], m["accuracy"], m["macro_f1"], b["accuracy"], b["macro_f1"], length["accuracy"]])
    return fmt_table(["lang", "chars", "n", "model acc", "model macro-F1", "BoW acc", "BoW macro-F1", "length-only acc"], rows)


def _reference_table(metrics: dict) -> str:
    """Ablations: other trained models scored on the same test rows (``eval_sentiment --reference``)."""
    refs = metrics.get("references") or {}
    if not refs:
        return "No ablation was scored with this evaluation (`eval_sentiment --reference NAME=DIR`)."
    langs = list(metrics["model"]["by_language"])
    rows = [["shipped model", *(metrics["model"]["by_language"][lang]["macro_f1"] for lang in langs),
             metrics["model"]["overall"]["macro_f1"]]]
    for name, ref in refs.items():
        rows.append([name, *(ref["by_language"][lang]["macro_f1"] for lang in langs), ref["overall"]["macro_f1"]])
    rows.append(["BoW baseline", *(metrics["bow_baseline"]["by_language"][lang]["macro_f1"] for lang in langs),
                 metrics["bow_baseline"]["overall"]["macro_f1"]])
    commands = "\n".join(f"- {name}: `{ref.get('training_command')}`" for name, ref in refs.items())
    return fmt_table(["test macro-F1", *langs, "all"], rows) + "\n\nTrained with:\n" + commands


def _handwritten_table(metrics: dict) -> str:
    hw = metrics.get("handwritten_survey")
    if not hw:
        return "Not measured."
    rows = []
    for lang, m in hw["model"]["by_language"].items():
        b = hw["bow_baseline"]["by_language"][lang]
        rows.append([f"{LANG_NAMES[lang]} ({lang})", m["n"], m["accuracy"], m["macro_f1"], b["accuracy"], b["macro_f1"]])
    errors = "\n".join(f"- `{e['id']}` {e['text']} — gold {e['gold']}, model {e['predicted']}" for e in hw["model_errors"])
    return (fmt_table(["language", "n", "model acc", "model macro-F1", "BoW acc", "BoW macro-F1"], rows)
            + f"\n\nModel errors ({len(hw['model_errors'])}):\n\n" + (errors or "none"))


def _architecture(metrics: dict) -> str:
    a = metrics.get("architecture", {})
    size = metrics["model_size"]
    text = (f"a {a.get('layers', '?')}-layer BERT encoder (hidden {a.get('hidden', '?')}, {a.get('heads', '?')} heads, "
            f"feed-forward {a.get('intermediate', '?')}), trained **from scratch** (no multilingual pre-trained encoder "
            f"with weights is installable offline); {size['parameters'] / 1e6:.2f}M parameters in all")
    if a.get("ngram_buckets"):
        text += (f". Beside the encoder, an n-gram branch: the text's lower-cased word unigrams and bigrams are hashed "
                 f"(CRC-32) into {a['ngram_buckets']:,} buckets of {a['ngram_dim']}-dim embeddings and averaged "
                 f"(fastText-style); that vector is concatenated to the pooled [CLS] vector before the linear "
                 f"head. Both parts are trained together; during training each also has its own auxiliary head and "
                 f"loss (not shipped), so the joint head combines two classifiers that are each good alone. "
                 f"The encoder reads context and negation; "
                 f"the branch gives rare but decisive words a direct path that sub-word attention learns slowly "
                 f"from ~100k rows. The ablation below shows what each part adds")
    return text


def render(metrics: dict) -> str:
    training = metrics.get("training", {})
    cal = metrics["calibration"]
    size = metrics["model_size"]
    langs_lost = [
        LANG_NAMES[lang] for lang, m in metrics["model"]["by_language"].items()
        if m["macro_f1"] <= metrics["bow_baseline"]["by_language"][lang]["macro_f1"]
    ]
    verdict = (
        "The shipped model beats the bag-of-words baseline on macro-F1 in every language."
        if not langs_lost
        else f"The shipped model does **not** beat the bag-of-words baseline on macro-F1 in: {', '.join(langs_lost)}."
    )
    diffs = metrics.get("model_minus_bow_macro_f1") or {}
    clear = [LANG_NAMES[lang] for lang, d in diffs.items() if d["ci95_low"] > 0]
    if diffs:
        verdict += (f" The difference is beyond test-set sampling noise (95% interval above zero) in: {', '.join(clear)}; "
                    "elsewhere the interval includes zero." if clear else
                    " In no language is the difference beyond test-set sampling noise (every 95% interval includes zero).")
    provenance = fmt_table(["dataset", "lang", "what", "licence"], [list(p) for p in PROVENANCE])
    files = ", ".join(f"`{k}` {v} MiB" for k, v in size["files_mib"].items())
    return f"""# Touchpoints sentiment model

Three-class sentiment (negative / neutral / positive) for customer-survey comments in Swedish,
Danish, Finnish and English. `score = P(positive) - P(negative)` in [-1, 1]. The service also
scores every sentence (spaCy `sentencizer`) so a comment praising staff but complaining about
waiting carries both.

*Generated by `{metrics['command']}` from `metrics.json`; do not edit by hand.*
Rebuild everything (CPU only, no downloads): `{training.get('command', 'python -m training.train_sentiment')}`.

## Model

- Architecture ({'`transformers` `BertModel` + n-gram branch, `service/sentiment/network.py`' if metrics.get('architecture', {}).get('ngram_buckets') else '`transformers` `BertModel` + linear head'}):
  {_architecture(metrics)}.
- Tokenizer: WordPiece (lower-cased, accents kept, deterministic vocabulary builder) from the training
  split only; inputs longer than 128 tokens keep their first 32 and last 96 tokens.
- Training: {training.get('epochs', '?')} epochs, seed {training.get('seed', '?')}, AdamW + linear warm-up/decay,
  inverse-frequency ('balanced') class weights, head+tail truncation to 128 tokens, length-bucketed batches; best epoch by dev macro-F1 averaged over the four languages.
  Wall time {training.get('train_seconds', '?')} s on 2 shared CPU cores.
- Calibration: temperature scaling on the dev split, T = {cal['temperature']}; expected calibration error on
  test {cal['test_ece_uncalibrated']} before → {cal['test_ece_calibrated']} after.
- Files (weights stored as fp16 safetensors, loaded as fp32): {files}.

## Data and licences

Splits are deterministic: texts are de-duplicated across all sources (case/whitespace-insensitive; the
SemEval editions and the two Swedish Trustpilot sets overlap), then each row goes to train / dev / test by
a SHA-1 hash of `dataset:id` (`training/data.py::split_of`, 80/10/10). Dev and test rows are never
used to fit weights; dev is used only for epoch selection and the temperature.

{provenance}

**Several sources are scraped reviews with no stated licence** (both Swedish Trustpilot sets, the Danish
Trustpilot set, ScandiSent-mt, SemEval ABSA, Europarl-da). They are used here for research / internal
evaluation; the shipped weights are derived from them, so get legal sign-off before any external
distribution. SAM is effectively non-commercial (CC BY-NC-SA copy).

Label mapping: stars 1-2 negative, 3 neutral, 4-5 positive; SAM/LCC/Europarl valence sign; XED
polarity: joy/trust → positive, anger/disgust/fear/sadness → negative, the native neutral sets → neutral,
'ambiguous' dropped; SemEval sentences with one polarity only ('mixed', 'conflict', 'none' dropped);
ScandiSent-mt and the Danish Trustpilot set have no neutral class. The lower-cased duplicate Danish
Trustpilot file is not used (its only extra, 3-star reviews, has no casing/punctuation and would teach the
model that lower-case text is neutral).

Per-epoch sampling: large or weak sources are re-sampled each epoch (caps {training.get('epoch_caps', {})}),
so English MT reviews and subtitles do not drown the customer-review data.

**Finnish is thin.** The only Finnish sentiment data is XED movie subtitles: native annotation
(train/dev/test) plus annotation-projected lines (training only, capped, never evaluated because the
labels are noisy). Finnish customer-feedback vocabulary (toimitus, asiakaspalvelu, ...) is therefore barely
seen in training, and the Finnish test numbers measure subtitles, not survey comments. Treat Finnish
scores as low-confidence; the tests only check unambiguous Finnish praise and complaints.

## Results on the held-out test split

Baseline "BoW" = TF-IDF word 1-2-grams + LogisticRegression (balanced classes) fitted on the same
training rows. {verdict} The last column is the model-minus-BoW macro-F1 difference with a 95% paired
bootstrap interval (1,000 resamples of the test rows, seed 0): an interval above zero is a win beyond
test-set sampling noise.

{_lang_table(metrics)}

Ablation (test macro-F1; each model trained by its own command, same data and seed):

{_reference_table(metrics)}

Hand-written survey comments (`training/data/survey_comments_handwritten.tsv`: 60 short answers,
5 positive, 5 negative and 5 neutral per language, written by the developers because no real survey
answers were available; a plausibility check in the target domain, far too small to rank models):

{_handwritten_table(metrics)}

By test source (the "length-only" column is a per-source logistic regression on log text length: the
data README warns that length alone predicts the label on the binary review sets):

{_source_table(metrics)}

By text length (characters) - survey answers are mostly under 100 characters:

{_length_table(metrics)}

## Limitations

- Neutral is the weakest class: the Danish and English review sets have no neutral gold, and the
  neutral examples that exist (3-star reviews, subtitles, news comments) differ from neutral survey answers:
  plain factual answers ("I ordered a jumper in size M.") are often scored negative or positive (see the
  hand-written check above).
- Trained from scratch on ~100k rows: no world knowledge, sarcasm and negation scope are weak. Words
  never seen in training reach the model only as sub-word pieces (the n-gram branch knows training words only).
- Long comments: the encoder does not see the middle of a text beyond 128 tokens (the n-gram branch
  sees every word); sentence-level scores cover every sentence (up to `TOUCHPOINTS_SENTIMENT_MAX_SENTENCES`).
- Domains: reviews, social media, subtitles, news comments; no real survey answers were available.
"""


def write_card(model_dir: Path, metrics: dict) -> Path:
    path = model_dir / "MODEL_CARD.md"
    path.write_text(render(metrics))
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
