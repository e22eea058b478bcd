# The two commands in the README: `make run` (install + serve) and `make test` (install + tests).
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8000

.PHONY: install install-test run test train-langid bench-langid train-sentiment eval-sentiment bench-sentiment eval-themes bench-themes reliability

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

# Rebuild models/langid: the word lexicon (wordfreq, test extra; ~2 s), the n-gram model with its
# scores of the lexicon's words (~30 s), then the combiner fitted on both (~4 min).
train-langid: install-test
	$(BIN)/python -m training.build_langid_lexicon
	$(BIN)/python -m training.train_langid
	$(BIN)/python -m training.fit_langid_combiner

bench-langid: install
	$(BIN)/python -m training.eval_langid

# Rebuild models/sentiment: fine-tune the top e5 layers (CPU, ~1 h on 2 cores; resumable), fit the
# frozen e5 + LR reference, then re-measure everything into metrics.json + MODEL_CARD.md.
train-sentiment: install
	$(BIN)/python -m training.train_sentiment

eval-sentiment: install
	$(BIN)/python -m training.eval_sentiment

bench-sentiment: install
	$(BIN)/python benchmarks/bench_sentiment.py

# Re-measure themes into models/themes/metrics.json + MODEL_CARD.md (language means and the mapping
# threshold are committed; re-make them with training.fit_language_means / training.calibrate_themes).
eval-themes: install
	$(BIN)/python -m training.eval_themes --json models/themes/metrics.json
	$(BIN)/python -m training.themes_card

bench-themes: install
	$(BIN)/python benchmarks/bench_themes.py --rows 100000
	$(BIN)/python benchmarks/bench_throughput.py

# Reliability checks against a real service process (README: Reliability): schemathesis fuzzing, an 8-client
# load test, kill -9 and SIGTERM mid-job and mid-`touchpoints score`, full/read-only disk. Not unit tests;
# ~15 min on 2 cores. RELIABILITY_ARGS="--quick" for a short run, "--only fuzz load" for some of them.
reliability: install-test
	$(BIN)/python benchmarks/reliability/run_all.py $(RELIABILITY_ARGS)
