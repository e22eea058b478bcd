"""The benchmarks' own helpers: the generated dumps and the memory sampler the published figures rest on."""

from __future__ import annotations

import csv
import subprocess
import sys
import time

import pytest

from benchmarks.bench_batch import BAD_EVERY, MAX_CHARS, PeakRss, generate
from training.data import DATA_DIR


@pytest.mark.skipif(not DATA_DIR.exists(), reason=f"training data not present at {DATA_DIR}")
def test_survey_dump_has_short_distinct_texts_in_four_languages(tmp_path):
    path = tmp_path / "dump.csv"
    generate(path, 4000, DATA_DIR, "survey")
    rows = list(csv.DictReader(path.open(encoding="utf-8")))
    good = [r for i, r in enumerate(rows) if i % BAD_EVERY != BAD_EVERY - 1]
    assert len(rows) == 4000 and {r["survey_lang"] for r in rows} == {"sv", "da", "fi", "en"}
    assert all(0 < len(r["text"]) <= MAX_CHARS["survey"] for r in good)
    assert len({r["text"] for r in good}) == len(good)  # 1,000 per language: no text repeats yet
    mixed = tmp_path / "mixed.csv"
    generate(mixed, 4000, DATA_DIR)
    assert max(len(r["text"]) for r in csv.DictReader(mixed.open(encoding="utf-8"))) > MAX_CHARS["survey"]


def test_peak_rss_sees_the_largest_child_and_traces_it():
    code = "import time; x = bytearray(300 * 2**20); x[::4096] = b'1' * len(x[::4096]); time.sleep(3)"
    parent = subprocess.Popen([sys.executable, "-c", f"import subprocess, sys; subprocess.run([sys.executable, '-c', {code!r}])"])
    with PeakRss(parent.pid, tree=True, interval=0.1, trace_every=0.5) as rss:
        parent.wait()
        time.sleep(0.1)
    assert rss.largest_child >= 300 * 2**20  # the grandchild holding the buffer
    assert rss.peak >= rss.largest >= rss.largest_child
    assert len(rss.trace) >= 2 and max(child for _, _, child in rss.trace) >= 300
