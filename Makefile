# The two commands in the README: `make run` (install + serve) and `make test` (install + tests).
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8000

.PHONY: install install-test run test bench-langid train-sentiment train-sentiment-ablation eval-sentiment bench-sentiment

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

install: $(BIN)/python
	$(BIN)/pip install -q -e .

install-test: $(BIN)/python
	$(BIN)/pip install -q -e '.[test]'

run: install
	$(BIN)/touchpoints serve --host $(HOST) --port $(PORT)

# pytest exits 5 when it collects nothing; that is a failure for us only if tests exist.
test: install-test
	$(BIN)/python -m pytest -q $(PYTEST_ARGS); rc=$$?; if [ $$rc -eq 5 ]; then echo "no tests collected"; exit 0; fi; exit $$rc

bench-langid: install
	$(BIN)/python -m training.eval_langid

# Rebuild models/sentiment (CPU, ~20-30 min on 2 cores), train the encoder-only ablation,
# re-measure the shipped model (with the ablation beside it when built), benchmark the served stage.
SENTIMENT_ABLATION ?= build/sentiment-transformer-only

train-sentiment: install
	$(BIN)/python -m training.train_sentiment --threads 1

train-sentiment-ablation: install
	$(BIN)/python -m training.train_sentiment --threads 1 --ngram-buckets 0 --skip-eval --output-dir $(SENTIMENT_ABLATION)

eval-sentiment: install
	$(BIN)/python -m training.eval_sentiment $(if $(wildcard $(SENTIMENT_ABLATION)/config.json),--reference transformer-only=$(SENTIMENT_ABLATION))

bench-sentiment: install
	$(BIN)/python benchmarks/bench_sentiment.py
