#!/bin/bash
# The serving and engine benchmarks the README quotes (issue #11), in sequence, on a quiet machine:
#   bash benchmarks/run_all.sh            # ~25 min on 2 cores; writes build/bench/<commit>/
# throughput (all engines), single-comment latency (onnx, torch-bf16, onnx again), memory under load
# (issue #13's check), then every engine on the test split (rewrites models/sentiment/engines.json).
set -u
cd "$(dirname "$0")/.."
PY=${PYTHON:-python}
out=build/bench/$(git rev-parse --short HEAD); mkdir -p "$out"
git status --short > "$out/dirty"
date > "$out/started"
$PY benchmarks/bench_throughput.py --units separate --comments survey --n 512 > "$out/throughput_survey.txt" 2>&1
for e in onnx torch-bf16 onnx; do
  $PY benchmarks/bench_latency.py --comments survey --engine $e --requests 300 >> "$out/latency.txt" 2>&1
done
$PY benchmarks/reliability/load.py --clients 8 --duration 180 > "$out/load.txt" 2>&1
$PY -m training.eval_engines > "$out/eval_engines.txt" 2>&1
date > "$out/done"
echo "results in $out"
