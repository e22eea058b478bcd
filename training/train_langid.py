"""Train the in-domain character n-gram language model shipped in models/langid/.

    python -m training.train_langid [--per-lang 15000] [--output-dir models/langid]

Deterministic: fixed seeds, hash splits (only 'train' rows are used), stateless features.
Each training text is added whole and as 1-, 2- and 3-5-word crops so the model learns
what one-word survey answers look like. Besides the review/comment 'train' rows of SOURCES it
learns Norwegian ('no', a distractor) and sv/da subtitles from the 'train' part of
SHARED_WITH_TRAINING (training/langid_data.py), so that it can tell Norwegian from Danish and
"subtitle style" is no Norwegian cue. Words are the text's letter runs (punctuation, digits and
emoji are genre, not language). With the word lexicon (``training/build_langid_lexicon.py``, run
first) in the output directory, the artefact also stores the model's score of every lexicon word,
which the service looks up instead of hashing. Takes about 20 s on 2 cores.
"""

from __future__ import annotations

import argparse
import random
import time
from pathlib import Path

from service.langid_lexicon import LEXICON_ARTEFACT, WordLexicon
from service.langid_model import CharNgramLanguageModel
from training.data import REPO_ROOT
from training.langid_data import SHARED_WITH_TRAINING, SOURCES, _norm, crop, public_texts, texts_for

CROPS = [(1, 1), (2, 2), (3, 5), None]


def training_texts(per_lang: int) -> dict[str, list[str]]:
    """lang -> whole texts the model trains on (before cropping)."""
    out = {lang: texts_for(lang, "train", per_lang) for lang in SOURCES}
    for lang in SHARED_WITH_TRAINING:
        out[lang] = out.get(lang, []) + public_texts(lang, "train")
    return out


def trained_texts(per_lang: int = 15000) -> set[str]:
    """Normalised whole texts of the shipped model's training set: never used as test sentences."""
    return {_norm(t) for texts in training_texts(per_lang).values() for t in texts}


def build_training_set(per_lang: int, seed: int = 0) -> tuple[list[str], list[str]]:
    rng = random.Random(seed)
    X: list[str] = []
    y: list[str] = []
    for lang, texts in training_texts(per_lang).items():
        for text in texts:
            for bucket in CROPS:
                X.append(crop(text, bucket, rng))
                y.append(lang)
    return X, y


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--per-lang", type=int, default=15000)
    ap.add_argument("--output-dir", type=Path, default=REPO_ROOT / "models" / "langid")
    ap.add_argument("--lexicon-dir", type=Path, default=None,
                    help="where lexicon.npz is (default: --output-dir); without it no word table is stored")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    X, y = build_training_set(args.per_lang)
    model = CharNgramLanguageModel().fit(X, y)
    table = ""
    lexicon_dir = args.lexicon_dir or args.output_dir
    if (lexicon_dir / LEXICON_ARTEFACT).exists():  # precomputed scores of the lexicon's words (speed)
        lexicon = WordLexicon.load(lexicon_dir)
        model.build_table(list(lexicon.index), lexicon.words_digest)
        table = f", word table of {len(lexicon.index)} lexicon words"
    path = model.save(args.output_dir)
    print(f"trained on {len(X)} texts ({args.per_lang} per language x {len(CROPS)} crops) "
          f"in {time.perf_counter() - t0:.1f}s{table} -> {path} ({path.stat().st_size / 2**20:.1f} MiB)")


if __name__ == "__main__":
    main()
