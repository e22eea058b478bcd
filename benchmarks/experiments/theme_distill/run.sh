#!/bin/bash
# A distilled theme top (issue #11 experiment, not shipped): train a student of fewer layers, then gate it.
#   git worktree add /tmp/theme-distill HEAD && cd /tmp/theme-distill
#   git apply benchmarks/experiments/theme_distill/theme_distill.diff
#   bash benchmarks/experiments/theme_distill/run.sh 2 6,11     # or: run.sh 1 11
# The patch adds DistilledTop (service/encoder/theme_top.py: used by the shared pass and the sentence encoder
# when the themes folder ships theme_top.json + theme_top.safetensors), training/distill_theme_top.py and its
# tests. The teacher's states are cached under build/theme-distill (~10 min the first time, on 2 cores).
set -e
LAYERS=$1; INIT=$2
PY=${PYTHON:-python}
OUT=build/theme-top-L$LAYERS-${INIT//,/-}
$PY -m training.distill_theme_top --layers "$LAYERS" --init "$INIT" --out "$OUT"
$PY benchmarks/experiments/theme_distill/gate.py "$OUT"      # refit means + threshold, eval_themes, compare
TOUCHPOINTS_THEMES_DIR=build/variants/$(basename "$OUT")/themes \
  $PY benchmarks/bench_throughput.py --engines torch-bf16 --units separate --comments survey --batch-sizes 32 256
$PY benchmarks/bench_throughput.py --engines torch-bf16 --units separate --comments survey --batch-sizes 32 256
