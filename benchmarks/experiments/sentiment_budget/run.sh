#!/usr/bin/env bash
# Fine-tuning budgets at 1/8 of the shipped recipe's rows (7,877; the last recipe at 1/4, beside the
# learning curve's 1/4 point), one after another on 2 threads:
# each run caches only its own rows, so its CPU-hours are what the recipe costs from nothing.
# Then each is scored on the test split and added to models/sentiment/metrics.json and the card.
#   bash benchmarks/experiments/sentiment_budget/run.sh           # all: train (~70 min on 2 cores), then score
#   bash benchmarks/experiments/sentiment_budget/run.sh top2 top4 # train only these
set -euo pipefail
cd "$(dirname "$0")/../../.."
COMMON=(--epochs 3 --cap xed_fi_native=15000 --skip-eval --skip-frozen --train-fraction 0.125
        --cache-dir build/sentiment-cache-budget)
ORDER=(top2 top4 top6 all12 lora12 lora12-fast lora6 lora12-quarter)
# name -> "label in the card|training arguments"
declare -A RECIPE=(
  [top2]="1/8 rows, top 2 layers|--trainable-layers 2"
  [top4]="1/8 rows, top 4 layers|--trainable-layers 4"
  [top6]="1/8 rows, top 6 layers (own cache)|--trainable-layers 6"
  [all12]="1/8 rows, all 12 layers|--trainable-layers 12"
  [lora12]="1/8 rows, LoRA on 12 layers, lr 5e-4|--trainable-layers 12 --lora-rank 8 --lora-alpha 16 --lr 5e-4"
  [lora12-fast]="1/8 rows, LoRA on 12 layers, lr 1e-3|--trainable-layers 12 --lora-rank 8 --lora-alpha 16 --lr 1e-3"
  [lora6]="1/8 rows, LoRA on top 6 layers, lr 1e-3|--trainable-layers 6 --lora-rank 8 --lora-alpha 16 --lr 1e-3"
  [lora12-quarter]="1/4 rows, LoRA on 12 layers, lr 1e-3|--trainable-layers 12 --lora-rank 8 --lora-alpha 16 --lr 1e-3 --train-fraction 0.25"
)
mkdir -p build/logs
names=("$@")
[ $# -eq 0 ] && names=("${ORDER[@]}")
for n in "${names[@]}"; do
  # shellcheck disable=SC2086
  python -m training.train_sentiment "${COMMON[@]}" ${RECIPE[$n]#*|} --output-dir "build/sentiment-budget-$n" \
    > "build/logs/budget-$n.log" 2>&1
  tail -n 1 "build/logs/budget-$n.log"
done
if [ $# -eq 0 ]; then
  added=()
  for n in "${ORDER[@]}"; do added+=(--add-ablation "${RECIPE[$n]%%|*}=build/sentiment-budget-$n"); done
  python -m training.eval_sentiment "${added[@]}"
fi
