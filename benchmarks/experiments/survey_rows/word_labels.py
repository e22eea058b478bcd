"""How the training split labels the rows that carry a word the short-answer probes get wrong (issue #9).

The review sets label a whole review by its stars, so a word's label mix is that of the reviews it
appears in, not the word's own polarity. ~20 s:

    PYTHONPATH=. python benchmarks/experiments/survey_rows/word_labels.py
"""

from __future__ import annotations

import re
from collections import Counter

from training.sentiment_data import LABELS, load_examples

# (language, regular expression): the price complaints and one-word answers short_answers.py probes.
WORDS = [
    ("fi", r"\bkallis"), ("fi", r"\bliian kallis"), ("fi", r"\bhuono"),
    ("sv", r"\bför dyr"), ("sv", r"\bpriser(na)? är för hög"), ("sv", r"\busel"),
    ("da", r"\bfor dyr"), ("da", r"\belendig"),
]


def main() -> None:
    train = load_examples()["train"]
    for lang, pattern in WORDS:
        found = re.compile(pattern, re.IGNORECASE)
        rows = [e for e in train if e.lang == lang and found.search(e.text)]
        mix = Counter(e.label for e in rows)
        short = [e for e in rows if len(e.text) < 40]
        print(f"{lang} /{pattern}/: {len(rows)} train rows, " + ", ".join(f"{label} {mix[label]}" for label in LABELS)
              + f"; under 40 characters: {len(short)}")
        for e in rows[:3]:
            print(f"    {e.label:8s} {e.source}: {e.text[:80]!r}")


if __name__ == "__main__":
    main()
