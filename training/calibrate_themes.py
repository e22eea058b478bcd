"""Fit the taxonomy mapper's threshold and confidence curve on the parallel dev set.

    python -m training.calibrate_themes

The threshold has to say "none of these" for comments about something the taxonomy does not name
(that is what becomes a discovered theme), and the dev set has few such comments. So it is chosen
open-set style, leaving one touchpoint out at a time: with touchpoint T removed, T's comments are
right only when no touchpoint reaches the threshold, the others only when their best touchpoint is
the gold one and reaches it; the threshold maximising the mean accuracy over all T is kept. Gold
themes that are no touchpoint at all (packaging) count as "none" throughout. A logistic fit of
"the best touchpoint is right" on the score (full taxonomy) gives the confidence the API reports. Writes
``models/themes/mapping.json``. The held-out parallel set is never used here.
"""

from __future__ import annotations

import json

import numpy as np
from sklearn.linear_model import LogisticRegression

from service.config import Settings
from service.themes import ThemeComponents
from service.themes.mapping import MAPPING_FILE, Calibration
from training.themes_data import PARALLEL, load_parallel

# dev gold labels that the taxonomy files under another touchpoint's name
GOLD_ALIASES = {"ambience": "store"}


def main() -> None:
    settings = Settings()
    comp = ThemeComponents.load(settings)
    texts, langs, gold, _ = load_parallel(PARALLEL)
    keys = comp.taxonomy.keys
    target = np.array([GOLD_ALIASES.get(g, g) if GOLD_ALIASES.get(g, g) in keys else "" for g in gold])
    S = comp.mapper.scores(comp.embedder.transform(texts, langs), texts, langs)
    best, score = np.array(keys)[S.argmax(axis=1)], S.max(axis=1)
    grid = np.round(np.arange(0.15, 0.80, 0.005), 3)
    acc = np.zeros(len(grid))
    for left_out in range(len(keys)):
        cols = [j for j in range(len(keys)) if j != left_out]
        sub_best, sub_score = np.array(keys)[cols][S[:, cols].argmax(axis=1)], S[:, cols].max(axis=1)
        sub_target = np.where(target == keys[left_out], "", target)
        acc += [float(np.mean(np.where(sub_score >= th, sub_best, "") == sub_target)) for th in grid]
    acc /= len(keys)
    threshold = float(grid[int(np.argmax(acc))])
    right = (best == target).astype(int)
    lr = LogisticRegression(C=10.0).fit(score[:, None], right)
    cal = Calibration(threshold=threshold, slope=float(lr.coef_[0, 0]), intercept=float(lr.intercept_[0]),
                      secondary_margin=Calibration().secondary_margin)
    out = {**cal.__dict__, "fitted_on": "tests/data/themes_parallel.tsv (dev, 288 comments)",
           "dev_leave_one_out_accuracy": round(float(acc.max()), 4), "dev_top1_accuracy": round(float(right[target != ""].mean()), 4)}
    path = settings.themes_path / MAPPING_FILE
    path.write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
