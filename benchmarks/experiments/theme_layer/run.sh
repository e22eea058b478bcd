#!/bin/bash
# Theme vectors from a lower encoder layer instead of the pretrained top (issue #11 experiment, not shipped).
#   git worktree add /tmp/theme-layer HEAD && cd /tmp/theme-layer
#   git apply benchmarks/experiments/theme_layer/theme_layer.diff
#   bash benchmarks/experiments/theme_layer/run.sh 6      # or 8; then: ... run.sh 6 0.25 (another grouping distance)
# The patch adds TOUCHPOINTS_THEME_LAYER (the layer whose token states are mean-pooled; unset = 12, shipped).
# Each variant re-fits the language means and re-calibrates in its own copy of models/themes, then evaluates.
set -e
L=$1; G=${2:-}
export TOUCHPOINTS_THEME_LAYER=$L TOUCHPOINTS_THEMES_DIR=$PWD/build/variants/L$L/themes
PY=${PYTHON:-python}
if [ -z "$G" ]; then
  mkdir -p build/variants/L$L && rm -rf "$TOUCHPOINTS_THEMES_DIR" && cp -r models/themes "$TOUCHPOINTS_THEMES_DIR"
  $PY -m training.fit_language_means
  $PY -m training.calibrate_themes
  $PY -m training.eval_themes --json build/metrics_L$L.json
else
  TOUCHPOINTS_THEMES_GROUP_DISTANCE=$G $PY -m training.eval_themes --sets parallel_holdout parallel_dev bitext semeval \
    banking77 --json build/metrics_L${L}_g$G.json
fi
