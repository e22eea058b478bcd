"""Twenty short survey answers, five per language, scored by each model folder given (issue #9).

Written 2026-12-06 before candidate 3 ran, as rule 4 of its ship rule (README here). Three of them are
also rows of the survey training file ("Fremragende.", "Bad.", "Jättebra!"), so they test recall of a
trained row as much as generalisation; the rest are not in it. Also printed: how many of the survey
file's own training rows the model gets right (how well a continuation fitted them).

    PYTHONPATH=. python benchmarks/experiments/survey_rows/short_answers.py models/sentiment build/…
"""

from __future__ import annotations

import sys
from pathlib import Path

from service.config import Settings
from service.sentiment import load_scorer
from training.survey_training import load_survey_training

# (language, answer, gold).
ANSWERS = [
    ("fi", "Huono", "negative"), ("fi", "Hyvä", "positive"), ("fi", "Tosi huono", "negative"),
    ("fi", "Erinomainen", "positive"), ("fi", "Liian kallis", "negative"),
    ("sv", "Dålig", "negative"), ("sv", "Bra", "positive"), ("sv", "Jättebra", "positive"),
    ("sv", "Usel", "negative"), ("sv", "För dyrt", "negative"),
    ("da", "Dårlig", "negative"), ("da", "Godt", "positive"), ("da", "Elendigt", "negative"),
    ("da", "Fremragende", "positive"), ("da", "Alt for dyrt", "negative"),
    ("en", "Bad", "negative"), ("en", "Good", "positive"), ("en", "Terrible", "negative"),
    ("en", "Excellent", "positive"), ("en", "Way too expensive", "negative"),
]
# Rule 4b: the bare good/bad word of each language keeps its label.
BARE = {"Huono", "Hyvä", "Dålig", "Bra", "Dårlig", "Godt", "Bad", "Good"}


def main(folders: list[str]) -> None:
    assert BARE <= {text for _, text, _ in ANSWERS}
    survey_train = load_survey_training()["train"]
    for folder in folders:
        scorer = load_scorer(Path(folder), Settings(inference_batch_size=8))
        fitted = scorer.transform([e.text for e in survey_train], [e.lang for e in survey_train])
        print(f"{folder}: survey training rows right (reported only): "
              f"{sum(o.label == e.label for o, e in zip(fitted, survey_train))}/{len(survey_train)}")
        out = scorer.transform([t for _, t, _ in ANSWERS], [lang for lang, _, _ in ANSWERS])
        right = [o.label == gold for (_, _, gold), o in zip(ANSWERS, out)]
        print(f"{folder}: {sum(right)}/{len(ANSWERS)} right; bare words right: "
              f"{sum(r for (_, t, _), r in zip(ANSWERS, right) if t in BARE)}/{len(BARE)}")
        for (lang, text, gold), o, ok in zip(ANSWERS, out, right):
            print(f"  {'ok ' if ok else 'ERR'} {lang} {text!r}: {o.label} {o.score:+.2f} (gold {gold})")


if __name__ == "__main__":
    main(sys.argv[1:] or ["models/sentiment"])
