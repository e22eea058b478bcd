"""Concurrent callers' encoder work is merged into one batch, and each gets exactly its own share back."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from service.sentiment.coalesce import Coalescer


class FakeRun:
    """Echoes each text's length; slow enough that callers arriving meanwhile queue up; fails on 'boom'."""

    def __init__(self) -> None:
        self.sizes: list[int] = []
        self.lock = threading.Lock()

    def __call__(self, texts, proba_spans, vector_spans):
        with self.lock:
            self.sizes.append(len(texts))
        time.sleep(0.05)
        if "boom" in texts:
            raise ValueError("bad text")
        return [len(t) for t in texts], [f"{t}|{s}" for t, s in zip(texts, vector_spans)]


def _calls(n: int) -> list[list[str]]:
    return [[f"c{i}-" + "x" * j for j in range(1 + i % 3)] for i in range(n)]


def test_concurrent_calls_are_merged_and_each_gets_its_own_results():
    run = FakeRun()
    co = Coalescer(run, max_texts=256)
    calls = _calls(12)
    with ThreadPoolExecutor(12) as ex:
        got = list(ex.map(lambda texts: co(texts, [None] * len(texts), list(range(len(texts)))), calls))
    for texts, (proba, vectors) in zip(calls, got):
        assert proba == [len(t) for t in texts] and vectors == [f"{t}|{k}" for k, t in enumerate(texts)]
    assert co.batches == len(run.sizes) < len(calls)  # merged: fewer encoder batches than callers
    assert sum(run.sizes) == sum(map(len, calls))  # every text run once


def test_a_lone_caller_runs_at_once_and_batches_stay_under_the_cap():
    run = FakeRun()
    co = Coalescer(run, max_texts=4)
    t0 = time.perf_counter()
    assert co(["a", "bb"], [None, None], [0, 1]) == ([1, 2], ["a|0", "bb|1"])
    assert time.perf_counter() - t0 < 0.5 and run.sizes == [2]
    calls = _calls(10)
    with ThreadPoolExecutor(10) as ex:
        list(ex.map(lambda texts: co(texts, [None] * len(texts), [None] * len(texts)), calls))
    assert max(run.sizes[1:]) <= 4


def test_one_callers_bad_input_fails_only_that_caller():
    run = FakeRun()
    co = Coalescer(run)
    calls = [["fine"], ["boom"], ["also fine", "ok"]] * 3
    results: list[object] = [None] * len(calls)

    def call(i: int) -> None:
        try:
            results[i] = co(calls[i], [None] * len(calls[i]), [None] * len(calls[i]))[0]
        except ValueError as exc:
            results[i] = exc

    threads = [threading.Thread(target=call, args=(i,)) for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)
    for texts, r in zip(calls, results):
        if texts == ["boom"]:
            assert isinstance(r, ValueError)
        else:
            assert r == [len(t) for t in texts]


def test_the_service_merges_concurrent_comments_and_keeps_their_scores(client):
    """The real shared pass: concurrent one-comment calls through the loaded scorer, against each alone."""
    from service.sentiment.engines import BATCH_TOLERANCE  # noqa: PLC0415

    scorer = client.app.state.pipeline.sentiment
    if scorer.shared is None or scorer.shared.coalescer is None:
        pytest.skip("the scorer runs without the shared pass")
    texts = ["Toimitus oli nopea, kiitos!", "Priserna är för höga.", "Great staff.", "Pakken kom aldrig frem.",
             "Sovellus kaatuu aina.", "Leveransen var sen men personalen var trevlig."] * 2
    alone = [scorer.shared.predict_proba([t])[0] for t in texts]
    before = scorer.shared.coalescer.batches
    with ThreadPoolExecutor(len(texts)) as ex:
        together = list(ex.map(lambda t: scorer.shared.predict_proba([t])[0], texts))
    assert scorer.shared.coalescer.batches - before < len(texts)
    for a, b in zip(alone, together):
        assert np.abs(a - b).max() <= BATCH_TOLERANCE[scorer.engine]
