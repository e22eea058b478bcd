#!/usr/bin/env bash
# Fine-tuning budgets at 1/8 of the shipped recipe's rows (7,877), one after another on 2 threads:
# each run caches only its own rows, so its CPU-hours are what the recipe costs from nothing.
#   bash benchmarks/experiments/sentiment_budget/run.sh [NAME ...]   (default: all, in this order)
set -euo pipefail
cd "$(dirname "$0")/../../.."
COMMON=(--epochs 3 --cap xed_fi_native=15000 --skip-eval --skip-frozen --train-fraction 0.125
        --cache-dir build/sentiment-cache-budget)
declare -A RECIPE=(
  [top6]="--trainable-layers 6"
  [lora12]="--trainable-layers 12 --lora-rank 8 --lora-alpha 16 --lr 5e-4"
  [top2]="--trainable-layers 2"
  [all12]="--trainable-layers 12"
  [top4]="--trainable-layers 4"
)
mkdir -p build/logs
for name in "${@:-top6 lora12 top2 all12 top4}"; do
  for n in $name; do
    # shellcheck disable=SC2086
    python -m training.train_sentiment "${COMMON[@]}" ${RECIPE[$n]} --output-dir "build/sentiment-budget-$n" \
      > "build/logs/budget-$n.log" 2>&1
    tail -1 "build/logs/budget-$n.log"
  done
done
