"""Does a candidate Danish-vs-Norwegian feature add anything to the shipped language-ID features?

    python -m training.probe_langid_da_no

Why (issue #14): in the default mode two Danish short answers of the test set go to Norwegian,
and the Norwegian decision prior that does it cannot shrink unless some feature separates Danish
from Norwegian better than lingua, the n-gram model and the lexicon together. Each candidate is a
Danish-minus-Norwegian log-odds per text, trained only on 'train' rows (or wordfreq's lists):

* ``bigram-subtitles``: word 1+2-gram Naive Bayes, Danish vs Norwegian subtitles (same genre);
* ``bigram-subtitles+reviews``: the same with Danish review 'train' rows (no Norwegian reviews exist);
* ``wordfreq-chars``: character 1-4-gram Naive Bayes on wordfreq's word lists, frequency-weighted
  (general-language spelling: soft d, -ede, hv-, for words the lexicon lacks);
* ``closed-compound``: a split pair whose joined form a language writes as one word ("alt for"
  vs Bokmål "altfor") is evidence against that language (lexicon frequencies of the joined form).

Measured on the Danish and Norwegian texts of the calibration split (the combiner's data, which
no model trained on; test sets untouched), for a logistic regression on the shipped features' da/no
columns without and with the candidate (5-fold cross-validated): ROC AUC, and Danish recall where
Norwegian is kept out of Danish as often as the combiner's fitted keep-out target demands (the
operating point the Norwegian prior is chosen for); for pairs also the dev list's multi-word da/no
answers (``training/langid_short_dev.tsv``) at that threshold. Also printed: each candidate's
log-odds on those dev answers, where a genre cue shows as Norwegian review-style answers scored
Danish; and how many of the Danish calibration texts that the Norwegian prior moves out of 'da'
consist only of words both languages write alike (listed in both lexicons, frequencies within 3x):
what no word-level feature can separate. About two minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
from collections.abc import Callable, Sequence

import numpy as np
from sklearn.feature_extraction.text import HashingVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_predict, cross_val_score
from sklearn.naive_bayes import MultinomialNB

from service.langid_lexicon import WordLexicon, words_of
from service.language import LanguageIdentifier
from training.build_langid_lexicon import CUTOFF, WORDFREQ_CODE
from training.eval_langid import SHORT_DEV_SET
from training.langid_data import LENGTHS, in_domain_sets, public_sets, public_texts, texts_for
from training.train_langid import trained_texts

Scorer = Callable[[Sequence[str]], np.ndarray]  # texts -> Danish-minus-Norwegian log-odds


def naive_bayes_scorer(vectorizer: HashingVectorizer, docs: Sequence[str], labels: Sequence[str],
                       weights: np.ndarray | None = None, alpha: float = 0.1) -> Scorer:
    """Log-odds of a uniform-prior multinomial NB fitted on ``docs`` (labels 'da'/'no')."""
    nb = MultinomialNB(alpha=alpha, fit_prior=False).fit(vectorizer.transform(docs), labels, sample_weight=weights)
    da, no = list(nb.classes_).index("da"), list(nb.classes_).index("no")
    return lambda texts: np.asarray(vectorizer.transform(list(texts)) @ (nb.feature_log_prob_[da] - nb.feature_log_prob_[no]))


def bigram_scorer(with_reviews: bool) -> Scorer:
    da = public_texts("da", "train") + (texts_for("da", "train", 15000) if with_reviews else [])
    no = public_texts("no", "train")
    vec = HashingVectorizer(analyzer="word", tokenizer=words_of, token_pattern=None, lowercase=False,
                            ngram_range=(1, 2), n_features=2**20, alternate_sign=False, norm=None)
    return naive_bayes_scorer(vec, da + no, ["da"] * len(da) + ["no"] * len(no))


def wordfreq_chars_scorer() -> Scorer:
    import wordfreq

    docs, labels, weights = [], [], []
    for lang in ("da", "no"):
        freqs = {w: f for w, f in wordfreq.get_frequency_dict(WORDFREQ_CODE.get(lang, lang), wordlist="small").items()
                 if f >= CUTOFF and words_of(w) == [w]}
        total = sum(freqs.values())
        docs += list(freqs)
        labels += [lang] * len(freqs)
        weights += [1e6 * f / total for f in freqs.values()]  # each language the same mass
    vec = HashingVectorizer(analyzer="char_wb", ngram_range=(1, 4), n_features=2**18, alternate_sign=False, norm=None)
    scorer = naive_bayes_scorer(vec, docs, labels, np.array(weights), alpha=0.01)
    return lambda texts: scorer([" ".join(words_of(t)) for t in texts])


def closed_compound_scorer(lexicon: WordLexicon) -> Scorer:
    da, no = lexicon.classes.index("da"), lexicon.classes.index("no")

    def score(texts: Sequence[str]) -> np.ndarray:
        out = np.zeros(len(texts))
        for i, text in enumerate(texts):
            words = words_of(text)
            for a, b in zip(words, words[1:]):
                j = lexicon.index.get(a + b)
                if j is not None:  # log(1 + f/cutoff): ~0 where the joined form is unlisted
                    g = np.log1p(np.exp(lexicon.log_freq[j].astype(float)) / CUTOFF)
                    out[i] += g[no] - g[da]
        return out

    return score


def shipped_columns(f: dict[str, np.ndarray], classes: list[str]) -> np.ndarray:
    """The shipped features' da and no columns (what the combiner weighs)."""
    cols = [classes.index("da"), classes.index("no")]
    return np.c_[np.log(np.maximum(f["lingua"][:, cols], 1e-4)), np.maximum(f["ngram"][:, cols], -30),
                 np.maximum(f["lexicon"][:, cols], -30)]


def cv_scores(X: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    """5-fold cross-validated ROC AUC and Danish-minus-Norwegian decision values of a logistic regression."""
    lr = LogisticRegression(max_iter=3000)
    auc = float(cross_val_score(lr, X, y, cv=5, scoring="roc_auc").mean())
    return auc, cross_val_predict(lr, X, y, cv=5, method="decision_function")


def recall_at_keepout(values: np.ndarray, y: np.ndarray, keepout: float) -> tuple[float, float]:
    """Danish recall where the threshold keeps ``keepout`` of the Norwegian texts out of Danish; the threshold."""
    threshold = float(np.quantile(values[y == 0], keepout))
    return float((values[y == 1] > threshold).mean()), threshold


def spelled_alike(text: str, lexicon: WordLexicon, max_ratio: float = 3.0) -> bool:
    """Every word listed in both the Danish and the Norwegian lexicon, frequencies within ``max_ratio``."""
    da, no = lexicon.classes.index("da"), lexicon.classes.index("no")
    rows = [lexicon.index.get(w) for w in words_of(text)]
    return bool(rows) and all(j is not None and abs(float(lexicon.log_freq[j, da]) - float(lexicon.log_freq[j, no]))
                              < np.log(max_ratio) for j in rows)


def print_prior_losses(ident: LanguageIdentifier, sets: dict[str, dict[str, list[str]]]) -> None:
    """Danish texts right without the Norwegian prior and not with it; how many are spelled alike."""
    comb = ident._combiner
    flat = dataclasses.replace(comb, prior=np.zeros_like(np.asarray(comb.prior)).tolist())
    print("\nDanish calibration texts the Norwegian prior moves out of 'da' (right without it):\n")
    for length in LENGTHS:
        texts = sets["da"][length]
        f = ident.features(texts)
        lost = [t for t, a, b in zip(texts, ident.decide(flat, f, threshold=comb.min_posterior),
                                     ident.decide(comb, f, threshold=comb.min_posterior)) if a.code == "da" != b.code]
        alike = sum(spelled_alike(t, ident._lexicon) for t in lost)
        print(f"* {length}: {len(lost)} of {len(texts)}, {alike} of them spelled alike in Danish and Norwegian")


def main(argv: list[str] | None = None) -> None:
    argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter).parse_args(argv)
    ident = LanguageIdentifier().fit()
    public, reviews = public_sets("calib", exclude=trained_texts()), in_domain_sets("dev")
    candidates: dict[str, Scorer | None] = {
        "shipped": None, "bigram-subtitles": bigram_scorer(False), "bigram-subtitles+reviews": bigram_scorer(True),
        "wordfreq-chars": wordfreq_chars_scorer(), "closed-compound": closed_compound_scorer(ident._lexicon)}
    with SHORT_DEV_SET.open(encoding="utf-8") as fh:
        rows = [r for r in csv.DictReader(fh, delimiter="\t") if r["lang"] in ("da", "no") and len(r["text"].split()) > 1]
    dev_texts, dev_y = [r["text"] for r in rows], np.array([r["lang"] == "da" for r in rows])
    dev_base = shipped_columns(ident.features(dev_texts), ident._classes)
    targets = ident._combiner.fitted_on["keepout_target"]
    print("Calibration split, Danish vs Norwegian, the shipped features' da/no columns alone or with the candidate's\n"
          "log-odds: 5-fold CV ROC AUC / Danish recall where Norwegian is kept out of Danish as often as the\n"
          f"combiner's fitted target ({', '.join(f'{n} {targets[n]:.3f}' for n in LENGTHS)}); for pairs also the "
          f"dev list's {int(dev_y.sum())} multi-word Danish / {int((~dev_y).sum())} Norwegian answers right at that "
          "threshold (regression fitted on all calibration pairs):\n")
    print("| length | texts | " + " | ".join(candidates) + " |")
    print("|---|---|" + "---|" * len(candidates))
    for length in LENGTHS:
        da, no = public["da"][length] + reviews["da"][length], public["no"][length]
        texts, y = da + no, np.array([1] * len(da) + [0] * len(no))
        base = shipped_columns(ident.features(texts), ident._classes)
        cells = []
        for score in candidates.values():
            X = base if score is None else np.c_[base, score(texts)]
            auc, values = cv_scores(X, y)
            recall, threshold = recall_at_keepout(values, y, targets[length])
            text = f"{auc:.3f} / {recall:.3f}"
            if length == "pairs":
                dev_X = dev_base if score is None else np.c_[dev_base, score(dev_texts)]
                dev_da = LogisticRegression(max_iter=3000).fit(X, y).decision_function(dev_X) > threshold
                text += f" / dev da {int(dev_da[dev_y].sum())}, no {int((~dev_da[~dev_y]).sum())}"
            cells.append(text)
        print(f"| {length} | {len(texts)} | " + " | ".join(cells) + " |")
    scorers = {name: score for name, score in candidates.items() if score is not None}
    scores = {name: score(dev_texts) for name, score in scorers.items()}
    print(f"\nCandidates' Danish-minus-Norwegian log-odds on {SHORT_DEV_SET.name}'s multi-word da/no answers:\n")
    print("| lang | text | " + " | ".join(scorers) + " |")
    print("|---|---|" + "---|" * len(scorers))
    for i, r in enumerate(rows):
        print(f"| {r['lang']} | {r['text']} | " + " | ".join(f"{scores[n][i]:+.1f}" for n in scorers) + " |")
    print_prior_losses(ident, {"da": {n: public["da"][n] + reviews["da"][n] for n in LENGTHS}})


if __name__ == "__main__":
    main()
