"""Build the word-frequency lexicon of language ID (service/langid_lexicon.py) from wordfreq's lists.

    python -m training.build_langid_lexicon [--output-dir models/langid]

Source: the wordfreq package's 'small' lists (Apache-2.0 code, CC BY-SA 4.0 data: word counts
from Wikipedia, subtitles, news, web text, Twitter and Reddit), the same cut-off for every
language (1 per million tokens; Danish has no larger list). Norwegian is wordfreq's Bokmål ('nb').
A word missing from a language's list is below the cut-off there: it gets ``--floor`` (a quarter
of the cut-off). Words are kept as ``words_of`` tokenises text (letters only, no digits).
Run before ``training/fit_langid_combiner.py``, which weighs the lexicon against the other models.
Deterministic; a few seconds. wordfreq is needed only here (the ``test`` extra installs it).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from service.langid_combiner import CLASSES
from service.langid_lexicon import WordLexicon, words_of
from training.data import REPO_ROOT

WORDFREQ_CODE = {"no": "nb"}
CUTOFF = 1e-6  # the 'small' lists' smallest frequency


def build(floor: float = CUTOFF / 4) -> WordLexicon:
    from importlib.metadata import version

    import wordfreq

    freqs = {c: wordfreq.get_frequency_dict(WORDFREQ_CODE.get(c, c), wordlist="small") for c in CLASSES}
    vocab = sorted({w for d in freqs.values() for w, f in d.items() if f >= CUTOFF and words_of(w) == [w]})
    table = np.array([[max(freqs[c].get(w, 0.0), floor) for c in CLASSES] for w in vocab])
    meta = {"source": f"wordfreq {version('wordfreq')} small lists (Robyn Speer et al.)",
            "licence": "CC BY-SA 4.0 (wordfreq's data; this derived table is under the same licence)",
            "cutoff": CUTOFF, "floor": floor,
            "wordfreq_codes": {c: WORDFREQ_CODE.get(c, c) for c in CLASSES}}
    return WordLexicon(CLASSES, vocab, np.log(table), meta)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--output-dir", type=Path, default=REPO_ROOT / "models" / "langid")
    ap.add_argument("--floor", type=float, default=CUTOFF / 4)
    args = ap.parse_args(argv)
    lexicon = build(args.floor)
    path = lexicon.save(args.output_dir)
    print(f"{len(lexicon.index)} words x {len(lexicon.classes)} languages -> {path} "
          f"({path.stat().st_size / 2**20:.2f} MiB)")


if __name__ == "__main__":
    main()
